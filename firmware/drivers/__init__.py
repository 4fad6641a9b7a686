# Device drivers written from the datasheets: ssd1306 (OLED), ds3231 (RTC).
# Each talks to any object with the machine.I2C methods; see the module docstrings.


def extra(obj, module, name):
    """A driver's rarely used method `name`, bound to `obj`. Such methods live beside the
    driver (ds3231_extra.py, ssd1306_extra.py) as functions of the driver object: obj.name(x)
    calls module.name(obj, x). The module is imported for the lookup and forgotten by the
    import system at once, so its code stays on the heap only while the caller holds the
    returned function (the idle token never holds it). Raises AttributeError for a name the
    module does not have."""
    import sys

    full = "drivers." + module
    __import__(full)
    # Out of the module table and off this package (an import binds it here too).
    mod = sys.modules.pop(full)
    globals().pop(module, None)
    fn = getattr(mod, name)
    return lambda *args: fn(obj, *args)
