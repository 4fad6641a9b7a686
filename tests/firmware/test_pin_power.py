# Setting, changing and clearing the PIN re-encrypt the whole vault in one atomic save: a
# power cut after any block write leaves the old vault (old PIN or none) or the new one, never
# a mix, and once the new one loads no file holds a secret in its old form. The sweep itself
# is test_vault.py's (the sim's flash model, a cut after every block write).
import mac
import mptest
import pin
import vault
import vaultcrypt

tv = None  # test_vault, imported by _sweep()


def _sweep(*args, **kw):
    # test_vault.py's sweep. On a device, device-test copies only the module it runs and the
    # helpers, not another test module: skip there (the sweeps also need the sim's flash
    # model and more heap than a board has; they run on both unix builds).
    global tv
    try:
        import test_vault
    except ImportError:
        mptest.skip("needs test_vault.py beside it (the host's firmware test run)")
    tv = test_vault
    return tv._sweep(*args, **kw)


OLD = b"1357"
NEW = b"2468"


class _Clock:
    t = 1000.0

    def __call__(self):
        return self.t


def _state():
    """(PIN in use or None, the accounts as the key builder sees them). A protected vault is
    opened with whichever of the two PINs its check matches."""
    v = tv._loaded()
    params = v.pin_params()
    used = None
    if params is not None:
        salt, iterations, check = params
        for candidate in (OLD, NEW):
            c = vaultcrypt.Cipher.derive(candidate, salt, iterations)
            if mac.same(c.check, check):
                v.unlock(c)
                used = candidate
        assert used is not None, "a PIN block that neither PIN opens"
    return used, tv._snapshot(v)


def _still_works():
    v = tv._loaded()
    if v.protected:
        params = v.pin_params()
        for candidate in (OLD, NEW):
            c = vaultcrypt.Cipher.derive(candidate, params[0], params[1])
            if mac.same(c.check, params[2]):
                v.unlock(c)
    v.add("After", "cut", b"k")
    w = tv._loaded()
    assert w.find("After:cut").name == "cut"


def _set(code, old=""):
    return lambda: pin.Pin(tv._loaded(), tv._DATA, _Clock()).set(code, old)


def _prepare(with_pin=None):
    def run():
        tv._vault(12)()
        if with_pin:
            pin.Pin(vault.Vault(tv._DATA), tv._DATA, _Clock()).set(with_pin)

    return run


def test_power_cut_while_setting_a_pin():
    # Plain secrets before; none of them in any file once the sealed vault loads.
    _sweep(_prepare(), _set(NEW), _state, _still_works, removed=b"s02/" * 8)


def test_power_cut_while_changing_the_pin():
    _sweep(_prepare(OLD), _set(NEW, OLD), _state, _still_works)


def test_power_cut_while_clearing_the_pin():
    def clear():
        pin.Pin(tv._loaded(), tv._DATA, _Clock()).clear(OLD)

    _sweep(_prepare(OLD), clear, _state, _still_works)


def teardown_function():
    if tv is not None:
        tv.teardown_function()


if __name__ == "__main__":
    mptest.main(globals())
