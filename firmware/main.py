# Minimal main (temporary, until the app lands): the UTC time from the RTC on the panel,
# refreshed each second.
import time

import board


def _run():
    b = board.make()
    display = b.display()
    rtc = b.rtc()
    last = -1
    while True:
        t = rtc.time()
        if t != last:
            last = t
            s = t % 86400
            display.fill(0)
            display.text("UTC", 0, 0)
            display.text("%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60), 32, 28)
            display.show()
        time.sleep_ms(50)


_run()
