"""otp.Key's setup (otp.Key(...) calls init): checking the arguments, the HMAC midstates,
the per-code entry points. Runs once per key, when an account is shown (or a command computes
codes): the idle token does not hold this code (the app drops it with hmac_fast once the shown
key is built)."""

import otp
from micropython import const

_DAY = const(86400)
_STEAM_DIGITS = const(5)
_STEAM_MOD = const(11881376)  # 26**5: five Steam characters
_ALGORITHMS = ("sha1", "sha256", "sha512")  # index + 1: the kind (1 SHA1, 2 SHA256, 3 SHA512)


def init(key, secret, algorithm, digits, period, steam):
    if isinstance(period, float) and period % 1 == 0:  # not NaN or infinity either
        period = int(period)
    name = algorithm.lower() if isinstance(algorithm, str) else None
    kind = _ALGORITHMS.index(name) + 1 if name in _ALGORITHMS else 0
    # type() is int: not a bool, not a float (a big int is an int too)
    if not (
        isinstance(secret, (bytes, bytearray))
        and secret
        and kind
        and type(digits) is int
        and (digits == _STEAM_DIGITS if steam else 6 <= digits <= 8)
        and type(period) is int
        and period >= 1
    ):
        import otp_more

        otp_more.key_error(secret, kind, digits, period, steam)  # says which one
    key.algorithm = name
    key.digits = digits
    key.period = period
    # A Steam key is known by its modulus (no attribute more: the hot path's attribute
    # lookups stay as they were).
    key._mod = _STEAM_MOD if steam else 10**digits
    core = None  # the viper core module, imported on first use; None without viper
    if not otp._NO_VIPER:
        try:
            if kind == 1:
                import hmac_sha1 as core
            elif kind == 2:
                import hmac_sha256 as core
            else:
                import hmac_sha512 as core
        except SyntaxError:  # no viper emitter: the slow path (hashlib, sha512.py)
            pass
    if core is None:
        import otp_more

        key._st = None
        run = otp_more.slow_run(kind, secret, key._mod)
    else:
        import hmac_fast

        key._st = hmac_fast.new(core, secret, key._mod)
        run = core.run
    # The per-code entry points, as closures over what they need (otp._entry_points_maker):
    # instance attributes, so key.hotp(c) and key.totp_at(d, s) reach them without a
    # lookup in the class.
    q = 0 if key._st is None or _DAY % period else _DAY // period
    key.hotp, key.totp, key.totp_at = otp._entry_points(run, key._st, q, period)
    if not q:  # no viper core, or a period that does not divide a day
        import otp_more

        key.totp_at = otp_more.any_period(key.hotp, period)
