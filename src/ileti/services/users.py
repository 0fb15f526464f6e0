"""The panel's users: create, list, delete, change a password; log in and out.

Passwords are kept as argon2id hashes (argon2-cffi's defaults, rehashed on login when
the parameters change). A session is a random 256-bit token in an HttpOnly cookie; the
database keeps only its SHA-256, so a copy of the database opens no session, and a
logout, a password change or the user's deletion ends it on every instance at once.

Failed logins are braked per e-mail address and per client address
(``ILETI_LOGIN_FAILURE_LIMIT`` within ``ILETI_LOGIN_FAILURE_WINDOW_SECONDS``, shared
through Redis when it is configured): past the limit every attempt is refused, with the
right password too, until the window ends. An unknown e-mail costs the same argon2
verification as a known one, so timing does not tell which addresses exist.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email

from ileti.clock import SECOND, Clock
from ileti.config import Settings
from ileti.errors import RateLimited
from ileti.logs import printable
from ileti.models import Account, User
from ileti.services.auth_throttle import AuthThrottle
from ileti.store import AccountNotFound, Store
from ileti.store import accounts as account_store
from ileti.store import users as user_store
from ileti.store.users import EmailInUse, UserNotFound

log = logging.getLogger("ileti.panel")

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_hasher = PasswordHasher()


@functools.cache
def _dummy() -> str:
    """Verified against when the e-mail is unknown, so that both cost the same (made at
    the first such login, not at import: an argon2 hash takes a while)."""
    return _hasher.hash(secrets.token_hex(16))


__all__ = ["EmailInUse", "LoginRefused", "Session", "UserError", "UserNotFound", "UserService"]


class UserError(ValueError):
    """A user that cannot be created or changed; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class LoginRefused(Exception):
    """Wrong e-mail or password (one message for both)."""


@dataclass(frozen=True)
class Session:
    """A logged-in browser: the user and the account the pages show (None: an admin
    with no account to look at yet)."""

    token: str
    user: User
    account: Account | None

    @property
    def csrf(self) -> str:
        """The form token of this session: derived from the session token, so nothing
        more is stored, and useless without the cookie."""
        return hmac.new(self.token.encode(), b"ileti-csrf", hashlib.sha256).hexdigest()

    def csrf_ok(self, given: str | None) -> bool:
        return hmac.compare_digest(self.csrf.encode(), (given or "").encode("utf-8", "replace"))


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def check_email(email: str) -> str:
    try:
        found = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise UserError(f"not an e-mail address: {exc}", "email") from exc
    return found.normalized.lower()


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters", "password")
    return password


class UserService:
    def __init__(self, store: Store, settings: Settings, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._session_us = round(settings.session_seconds * SECOND)
        self.throttle = AuthThrottle(
            settings,
            clock=clock,
            limit=settings.login_failure_limit,
            window_seconds=settings.login_failure_window_seconds,
            name="loginfail",
        )

    async def start(self) -> None:
        await self.throttle.start()

    async def stop(self) -> None:
        await self.throttle.stop()

    # -- users ------------------------------------------------------------------------

    def create_sync(
        self, email: str, password: str, *, account_key: str | None, admin: bool
    ) -> User:
        """A new user (the CLI): of ``account_key``'s account, or an admin."""
        email = check_email(email)
        password_hash = _hasher.hash(check_password(password))
        if not admin and not account_key:
            raise UserError(
                "a user who is not an admin needs an account (--account KEY)", "account"
            )

        def create(conn: object) -> User:
            account_id = None
            if account_key:
                account = account_store.by_key(conn, account_key)  # type: ignore[arg-type]
                if account is None:
                    raise AccountNotFound(account_key)
                account_id = account.id
            return user_store.create(
                conn,  # type: ignore[arg-type]
                email,
                password_hash,
                account_id,
                admin,
                self._clock.now_us(),
            )

        try:
            return self._store.write_sync(create)
        except AccountNotFound as exc:
            raise UserError(f"no account with key {account_key!r}", "account") from exc

    def list_sync(self) -> list[User]:
        return self._store.read_sync(user_store.all_users)

    def delete_sync(self, email: str) -> None:
        email = email.strip().lower()
        self._store.write_sync(lambda conn: user_store.delete_user(conn, email))

    def set_password_sync(self, email: str, password: str) -> None:
        email = email.strip().lower()
        password_hash = _hasher.hash(check_password(password))
        now = self._clock.now_us()
        self._store.write_sync(
            lambda conn: user_store.set_password(conn, email, password_hash, now)
        )

    def find_sync(self, email: str) -> User | None:
        email = email.strip().lower()
        return self._store.read_sync(user_store.find, email)

    @staticmethod
    def password_matches(user: User, password: str) -> bool:
        try:
            return bool(_hasher.verify(user.password_hash, password[:MAX_PASSWORD]))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    # -- logging in -------------------------------------------------------------------

    def _check_brake(self, email: str, address: str | None) -> None:
        if self.throttle.blocking:
            self.throttle.check(f"user:{email}")
            if address is not None:
                self.throttle.check(f"addr:{address}")

    async def login(self, email: str, password: str, address: str | None) -> Session:
        """A new session; LoginRefused (wrong e-mail or password) or RateLimited."""
        email = email.strip().lower()[:254]
        self._check_brake(email, address)
        user = await self._store.read(user_store.find, email)
        try:
            ok = _hasher.verify(user.password_hash if user else _dummy(), password[:MAX_PASSWORD])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None:
            log.info("panel login refused for %s from %s", printable(email, 80), address)
            limited: RateLimited | None = None
            for name in (f"user:{email}", f"addr:{address}" if address else None):
                if name is None:
                    continue
                try:
                    await self.throttle.failed(name)
                except RateLimited as exc:
                    limited = exc
            if limited is not None:
                raise limited
            raise LoginRefused()
        if _hasher.check_needs_rehash(user.password_hash):
            new_hash = _hasher.hash(password)
            now = self._clock.now_us()
            await self._store.transaction(
                lambda conn: user_store.set_password(conn, email, new_hash, now)
            )
        token = secrets.token_urlsafe(32)
        now = self._clock.now_us()
        await self._store.transaction(
            lambda conn: user_store.open_session(
                conn, token_digest(token), user.id, user.account_id, now, now + self._session_us
            )
        )
        log.info("panel login: %s from %s", printable(email, 80), address)
        return await self.session(token)  # type: ignore[return-value]

    async def session(self, token: str | None) -> Session | None:
        """The live session of a cookie's token, or None."""
        if not token or len(token) > 128:
            return None
        digest = token_digest(token)
        found = await self._store.read(user_store.session_user, digest, self._clock.now_us())
        if found is None:
            return None
        user, viewing = found
        account_id = user.account_id if not user.admin else viewing
        account = None
        if account_id is not None:
            account = await self._store.read(account_store.by_id, account_id)
        if account is None and user.admin:
            first = await self._store.read(account_store.first_account)
            account = first
        return Session(token=token, user=user, account=account)

    async def view(self, session: Session, key: str) -> Account:
        """An admin looks at another account from now on (AccountNotFound)."""
        account = await self._store.read(account_store.by_key, key)
        if account is None:
            raise AccountNotFound(key)
        digest = token_digest(session.token)
        await self._store.transaction(
            lambda conn: user_store.view_account(conn, digest, account.id)
        )
        return account

    async def logout(self, session: Session) -> None:
        digest = token_digest(session.token)
        await self._store.transaction(lambda conn: user_store.close_session(conn, digest))
