# Device drivers written from the datasheets: ssd1306 (OLED), ds3231 (RTC).
# Each talks to any object with the machine.I2C methods; see the module docstrings.
