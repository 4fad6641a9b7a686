"""What the protocol server sees of the app (app.App.token makes one per server run).

Only the server and the commands use it, so it is imported with them and dropped with them
(app._drop): the idle token keeps none of it. Whatever must outlive a server run (the
session, the memory note, the security state) lives on the App; this is a view of it.
Using the vault, clock, config, display or PIN counts as serial activity (keeps the token
out of sleep).
"""

import time


class Token:
    def __init__(self, app):
        import version

        self._app = app
        self.FIRMWARE_VERSION = version.FIRMWARE_VERSION

    @property
    def vault(self):
        self._app.power.serial_seen()
        return self._app.vault

    @property
    def clock(self):
        self._app.power.serial_seen()
        return self._app.clock

    @property
    def config(self):
        self._app.power.serial_seen()
        return self._app.config

    @property
    def display(self):
        self._app.power.serial_seen()
        return self._app.display

    @property
    def pin(self):
        self._app.power.serial_seen()
        return self._app.pin()

    # Kept by the app: the protocol server is unloaded when idle, its state with it.

    @property
    def memory_note(self):
        return self._app.memory_note

    @memory_note.setter
    def memory_note(self, note):
        self._app.memory_note = note

    @property
    def session(self):
        # The server's session (a login, its challenge, the CHECK window of the account
        # added last) while the server is unloaded between commands: a host that pauses
        # longer than the server's idle time (a user typing a code) keeps its login, each
        # part still within its own time limit (server.Server.kept).
        return self._app.session

    @session.setter
    def session(self, kept):
        self._app.session = kept

    def changed(self):
        self._app.power.serial_seen()
        self._app.screen.wake_soon()

    # ---- security (firmware/security.py, docs/security.md)

    @property
    def security(self):
        app = self._app
        if app.security is None:
            import security

            app.security = security.State(app.board.data_dir)
        return app.security

    @property
    def password_state(self):
        """security.State when the flash holds a security record, else None: a token that
        never had a password has nothing to check, and the commands that only ask (INFO, the
        login check of every protected command) leave security.py (about 4 KB) unloaded.
        A copy that cannot be stat'ed for another reason than ENOENT counts as a record
        (fail closed: the State then says what it holds)."""
        app = self._app
        if app.security is None:
            import os

            path = app.board.data_dir + "/security.bin"
            for suffix in ("", ".bak", ".new"):
                try:
                    os.stat(path + suffix)
                    break
                except OSError as e:
                    if e.args[0] != 2:
                        break
            else:
                return None
        return self.security

    def set_repl(self, on):
        """Open (Ctrl-C reaches the REPL) or close the REPL until the next reset."""
        import security

        security.open_repl(on)
        self._app.board.set_interrupt_char(on)

    def factory_reset(self):
        """Erase every secret and the security state; the token is then empty and unlocked."""
        self._app.factory_reset()

    @property
    def clockguard(self):
        app = self._app
        if app.clockguard is None:
            import clockguard

            app.clockguard = clockguard.Guard(app.board.data_dir)
        return app.clockguard

    def login_failed(self, now_s):
        """A wrong password (or a try during the back-off): the panel shows the delay."""
        self._app.backoff_note = (time.ticks_ms(), now_s)
        self.changed()

    def ask_presence(self, unix_ms):
        """A clock change waits for a press: the panel asks for it (60 s)."""
        self._app.pending_clock = (unix_ms, time.ticks_ms())
        self.changed()
