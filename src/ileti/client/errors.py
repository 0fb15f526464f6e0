"""The client's exceptions: one class per v1 status code, all under :class:`ApiError`
(itself under :class:`IletiError`), each carrying the code, the exact Turkish message
the server sent and an English meaning.

    IletiError
    ├── ApiError                   the server answered a v1 error (code, message, meaning)
    │   ├── BadRequest 400, Unauthorized 401, InsufficientBalance 402,
    │   │   SubscriptionMissing 403, NotFound 404, Unprocessable 422, RateLimited 429,
    │   │   SenderNotAllowed 450, DuplicateOrder 451, InvalidRecipients 452,
    │   │   OrderTooLarge 453, EmptyText 454, OrderNotFound 455, OrderNotDue 456,
    │   │   BadSendDate 457, BadDateRange 458, EmptySender 459, BadSender 460,
    │   │   PageOutOfRange 464, InvalidNumber 466, IysMissing 468, IysListInvalid 469,
    │   │   IysCodeMissing 470, NotBlacklisted 474, Unavailable 503
    │   └── (any other code: ApiError itself)
    ├── UnexpectedResponse         a body that is not a v1 envelope (carries the raw body)
    ├── InvalidRequest             refused before sending (empty text, > 50,000 numbers)
    ├── InvalidWebhook             a delivery report body that is not the documented one
    └── TransportError             no answer (connection refused, timeout), from httpx
"""

from __future__ import annotations

__all__ = [
    "CATALOGUE",
    "ApiError",
    "BadDateRange",
    "BadRequest",
    "BadSendDate",
    "BadSender",
    "DuplicateOrder",
    "EmptySender",
    "EmptyText",
    "IletiError",
    "InsufficientBalance",
    "InvalidNumber",
    "InvalidRecipients",
    "InvalidRequest",
    "InvalidWebhook",
    "IysCodeMissing",
    "IysListInvalid",
    "IysMissing",
    "NotBlacklisted",
    "NotFound",
    "OrderNotDue",
    "OrderNotFound",
    "OrderTooLarge",
    "PageOutOfRange",
    "RateLimited",
    "SenderNotAllowed",
    "SubscriptionMissing",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "UnexpectedResponse",
    "Unprocessable",
    "error_for",
]

#: code -> (the provider's exact Turkish message, an English meaning).
CATALOGUE: dict[int, tuple[str, str]] = {
    200: ("İşlem başarılı", "success"),
    400: ("İstek çözümlenemedi", "the request body could not be parsed"),
    401: (
        "Üyelik bilgileri hatalı",
        "authentication failed: wrong key or hash, API access switched off, "
        "or an address outside the account's allow-list",
    ),
    402: ("Bakiye yetersiz", "the balance is too low for the order"),
    403: (
        "Aktif abonelik bulunamadı",
        "no active İYS subscription: the account has no brand code, or not this one",
    ),
    404: ("API istek yapılan yönteme sahip değil", "no such action or method"),
    422: ("İstek içerisindeki değerler doğrulanamadı.", "values failed validation"),
    429: ("İstek limiti aşıldı", "rate limit exceeded; retry after Retry-After seconds"),
    450: ("Gönderilen başlık kullanıma uygun değil", "sender not approved for the account"),
    451: ("Tekrar eden sipariş", "same texts to the same recipients within 10 minutes"),
    452: ("Mesaj alıcıları hatalı", "no valid, non-blacklisted recipient"),
    453: ("Sipariş boyutu aşıldı", "a text is longer than 7 SMS parts"),
    454: ("Mesaj metni boş", "empty text"),
    455: (
        "Sipariş bulunamadı",
        "no such order for this account (or a cancel of one already dispatched)",
    ),
    456: ("Sipariş gönderim tarihi henüz gelmedi", "the order is scheduled in the future"),
    457: ("Mesaj gönderim tarihinin formatı hatalı", "sendDateTime is not dd/MM/yyyy HH:mm"),
    458: ("Tarih aralığı hatalı", "bad date, or a range over 10 days"),
    459: ("Başlık kısmı boş olamaz", "empty sender"),
    460: (
        "Başlık 11 karakterden fazla olmamalı ve Türkçe karakter içermemelidir.",
        "sender over 11 characters or with Turkish letters",
    ),
    464: ("Page değeri 1 den başlamalı.", "page below 1"),
    466: ("Hatalı numara", "not a valid Turkish mobile number"),
    468: (
        "IYS üzerinden sorgulama yapılıp, yapılmayacağını ayarlamalısınız.",
        "iys missing (strict mode)",
    ),
    469: ("IYS listenizi seçmelisiniz, BIREYSEL veya TACIR.", "iys=1 without a valid iysList"),
    470: ("IYS kodunuzu ayarlamalısınız.", "iys=1 but the account has no İYS brand code"),
    474: ("Bu numara üzerindeki engelleme kaldırılamaz", "the number is not blacklisted"),
    503: ("Sunucu geçici olarak servis dışı", "temporarily unavailable"),
}


class IletiError(Exception):
    """Anything this client raises."""


class ApiError(IletiError):
    """The server answered a v1 error. ``code`` is the body's code (which equals the
    HTTP status), ``message`` the server's exact (Turkish) text, ``meaning`` English."""

    code: int = 0
    #: Seconds the server asked to wait (its ``Retry-After``), when it said.
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        body: bytes = b"",
        action: str = "",
    ) -> None:
        self.code = code if code is not None else type(self).code
        self.message = message
        self.meaning = CATALOGUE.get(self.code, ("", "an error code this client does not know"))[1]
        self.http_status = http_status if http_status is not None else self.code
        self.body = body
        self.action = action
        where = f" ({action})" if action else ""
        super().__init__(f"{self.code} {message}{where}: {self.meaning}")


class BadRequest(ApiError):
    code = 400


class Unauthorized(ApiError):
    code = 401


class InsufficientBalance(ApiError):
    code = 402


class SubscriptionMissing(ApiError):
    code = 403


class NotFound(ApiError):
    code = 404


class Unprocessable(ApiError):
    code = 422


class RateLimited(ApiError):
    """429. ``retry_after`` is the server's ``Retry-After`` in seconds (None: absent)."""

    code = 429


class SenderNotAllowed(ApiError):
    code = 450


class DuplicateOrder(ApiError):
    code = 451


class InvalidRecipients(ApiError):
    code = 452


class OrderTooLarge(ApiError):
    code = 453


class EmptyText(ApiError):
    code = 454


class OrderNotFound(ApiError):
    code = 455


class OrderNotDue(ApiError):
    code = 456


class BadSendDate(ApiError):
    code = 457


class BadDateRange(ApiError):
    code = 458


class EmptySender(ApiError):
    code = 459


class BadSender(ApiError):
    code = 460


class PageOutOfRange(ApiError):
    code = 464


class InvalidNumber(ApiError):
    code = 466


class IysMissing(ApiError):
    code = 468


class IysListInvalid(ApiError):
    code = 469


class IysCodeMissing(ApiError):
    code = 470


class NotBlacklisted(ApiError):
    code = 474


class Unavailable(ApiError):
    code = 503


_BY_CODE: dict[int, type[ApiError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        InsufficientBalance,
        SubscriptionMissing,
        NotFound,
        Unprocessable,
        RateLimited,
        SenderNotAllowed,
        DuplicateOrder,
        InvalidRecipients,
        OrderTooLarge,
        EmptyText,
        OrderNotFound,
        OrderNotDue,
        BadSendDate,
        BadDateRange,
        EmptySender,
        BadSender,
        PageOutOfRange,
        InvalidNumber,
        IysMissing,
        IysListInvalid,
        IysCodeMissing,
        NotBlacklisted,
        Unavailable,
    )
}


def error_for(code: int) -> type[ApiError]:
    """The exception class of a code (ApiError itself for a code not in the catalogue)."""
    return _BY_CODE.get(code, ApiError)


class UnexpectedResponse(IletiError):
    """The server's answer is not a v1 envelope this client can read (not JSON, no
    ``response.status.code``, a payload of the wrong shape, an HTTP status that
    disagrees with the body). ``body`` is the raw answer."""

    def __init__(self, reason: str, *, http_status: int, body: bytes, action: str = "") -> None:
        self.reason = reason
        self.http_status = http_status
        self.body = body
        self.action = action
        preview = body[:200].decode("utf-8", "replace")
        super().__init__(
            f"unexpected answer to {action or 'a request'} (HTTP {http_status}): "
            f"{reason}; body: {preview!r}"
        )


class InvalidRequest(IletiError, ValueError):
    """Refused by the client before anything was sent (an obvious mistake)."""


class InvalidWebhook(IletiError, ValueError):
    """A delivery-report body that is not ``{"report": {id, packet_id, status, to, body}}``."""


class TransportError(IletiError):
    """No answer: the connection failed or timed out (``__cause__`` is httpx's error).
    ``sent`` is False when the request certainly never reached the server."""

    def __init__(self, message: str, *, action: str = "", sent: bool = True) -> None:
        self.action = action
        self.sent = sent
        super().__init__(message)
