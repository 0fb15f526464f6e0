"""The provider's status codes, their exact Turkish messages, and one exception per code.

Anything may raise an :class:`ApiError`; exactly one place (``ileti.wire.encode``)
renders it as a v1 envelope whose HTTP status equals its code.

    ApiError
    ├── BadRequest            400  body could not be parsed
    ├── Unauthorized          401  authentication failed (any cause, one body)
    ├── InsufficientBalance   402
    ├── SubscriptionMissing   403  no İYS brand code, or not the account's (spec §10)
    ├── NotFound              404  no such action or method
    ├── Unprocessable         422  values failed validation (generic)
    ├── PageOutOfRange        464
    ├── InvalidNumber         466
    ├── NotBlacklisted        474
    ├── DateRangeInvalid      458
    ├── RateLimited           429  (ours; carries Retry-After)
    ├── Unavailable           503  the store could not be reached
    └── sending (spec §7): SenderNotAllowed 450, DuplicateOrder 451,
        InvalidRecipients 452, OrderTooLarge 453, EmptyText 454, OrderNotFound 455,
        OrderNotDue 456, BadSendDate 457, EmptySender 459, BadSender 460,
        IysMissing 468, IysListInvalid 469, IysCodeMissing 470
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    """Every code of the v1 contract (spec §3) with its message as ``.message``."""

    SENDING = 110
    DELIVERED = 111
    UNDELIVERED = 112
    ORDER_IN_PROGRESS = 113
    ORDER_COMPLETED = 114
    ORDER_FAILED = 115
    OK = 200
    BAD_REQUEST = 400
    UNAUTHORIZED = 401
    INSUFFICIENT_BALANCE = 402
    NO_SUBSCRIPTION = 403
    NOT_FOUND = 404
    UNPROCESSABLE = 422
    RATE_LIMITED = 429
    SENDER_NOT_ALLOWED = 450
    DUPLICATE_ORDER = 451
    INVALID_RECIPIENTS = 452
    ORDER_TOO_LARGE = 453
    EMPTY_TEXT = 454
    ORDER_NOT_FOUND = 455
    ORDER_NOT_DUE = 456
    BAD_SEND_DATE = 457
    BAD_DATE_RANGE = 458
    EMPTY_SENDER = 459
    BAD_SENDER = 460
    PAGE_OUT_OF_RANGE = 464
    INVALID_NUMBER = 466
    IYS_MISSING = 468
    IYS_LIST_INVALID = 469
    IYS_CODE_MISSING = 470
    NOT_BLACKLISTED = 474
    UNAVAILABLE = 503

    @property
    def message(self) -> str:
        return MESSAGES[self]


MESSAGES: dict[Code, str] = {
    Code.SENDING: "Mesaj gönderiliyor",
    Code.DELIVERED: "Mesaj gönderildi",
    Code.UNDELIVERED: "Mesaj gönderilemedi",
    Code.ORDER_IN_PROGRESS: "Siparişin gönderimi devam ediyor",
    Code.ORDER_COMPLETED: "Siparişin gönderimi tamamlandı",
    Code.ORDER_FAILED: "Sipariş gönderilemedi",
    Code.OK: "İşlem başarılı",
    Code.BAD_REQUEST: "İstek çözümlenemedi",
    Code.UNAUTHORIZED: "Üyelik bilgileri hatalı",
    Code.INSUFFICIENT_BALANCE: "Bakiye yetersiz",
    Code.NO_SUBSCRIPTION: "Aktif abonelik bulunamadı",
    Code.NOT_FOUND: "API istek yapılan yönteme sahip değil",
    Code.UNPROCESSABLE: "İstek içerisindeki değerler doğrulanamadı.",
    Code.RATE_LIMITED: "İstek limiti aşıldı",
    Code.SENDER_NOT_ALLOWED: "Gönderilen başlık kullanıma uygun değil",
    Code.DUPLICATE_ORDER: "Tekrar eden sipariş",
    Code.INVALID_RECIPIENTS: "Mesaj alıcıları hatalı",
    Code.ORDER_TOO_LARGE: "Sipariş boyutu aşıldı",
    Code.EMPTY_TEXT: "Mesaj metni boş",
    Code.ORDER_NOT_FOUND: "Sipariş bulunamadı",
    Code.ORDER_NOT_DUE: "Sipariş gönderim tarihi henüz gelmedi",
    Code.BAD_SEND_DATE: "Mesaj gönderim tarihinin formatı hatalı",
    Code.BAD_DATE_RANGE: "Tarih aralığı hatalı",
    Code.EMPTY_SENDER: "Başlık kısmı boş olamaz",
    Code.BAD_SENDER: ("Başlık 11 karakterden fazla olmamalı ve Türkçe karakter içermemelidir."),
    Code.PAGE_OUT_OF_RANGE: "Page değeri 1 den başlamalı.",
    Code.INVALID_NUMBER: "Hatalı numara",
    Code.IYS_MISSING: "IYS üzerinden sorgulama yapılıp, yapılmayacağını ayarlamalısınız.",
    Code.IYS_LIST_INVALID: "IYS listenizi seçmelisiniz, BIREYSEL veya TACIR.",
    Code.IYS_CODE_MISSING: "IYS kodunuzu ayarlamalısınız.",
    Code.NOT_BLACKLISTED: "Bu numara üzerindeki engelleme kaldırılamaz",
    Code.UNAVAILABLE: "Sunucu geçici olarak servis dışı",
}


class ApiError(Exception):
    """An error with a v1 code. The message shown on the wire is always the code's."""

    code: Code = Code.UNPROCESSABLE
    headers: dict[str, str] | None = None
    #: The account refused, where it is known although authentication failed (a wrong
    #: hash, API access off, an address outside the allow-list): for its panel.
    account_id: int | None = None

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.code.message)
        self.detail = detail


class BadRequest(ApiError):
    code = Code.BAD_REQUEST


class Unauthorized(ApiError):
    code = Code.UNAUTHORIZED


class InsufficientBalance(ApiError):
    code = Code.INSUFFICIENT_BALANCE


class SubscriptionMissing(ApiError):
    code = Code.NO_SUBSCRIPTION


class NotFound(ApiError):
    code = Code.NOT_FOUND


class Unprocessable(ApiError):
    code = Code.UNPROCESSABLE


class DateRangeInvalid(ApiError):
    code = Code.BAD_DATE_RANGE


class PageOutOfRange(ApiError):
    code = Code.PAGE_OUT_OF_RANGE


class InvalidNumber(ApiError):
    code = Code.INVALID_NUMBER


class NotBlacklisted(ApiError):
    code = Code.NOT_BLACKLISTED


class RateLimited(ApiError):
    code = Code.RATE_LIMITED

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail)
        self.headers = {"retry-after": str(max(1, retry_after))}


class Unavailable(ApiError):
    code = Code.UNAVAILABLE


class SenderNotAllowed(ApiError):
    code = Code.SENDER_NOT_ALLOWED


class DuplicateOrder(ApiError):
    code = Code.DUPLICATE_ORDER


class InvalidRecipients(ApiError):
    code = Code.INVALID_RECIPIENTS


class OrderTooLarge(ApiError):
    code = Code.ORDER_TOO_LARGE


class EmptyText(ApiError):
    code = Code.EMPTY_TEXT


class OrderNotFound(ApiError):
    code = Code.ORDER_NOT_FOUND


class OrderNotDue(ApiError):
    code = Code.ORDER_NOT_DUE


class BadSendDate(ApiError):
    code = Code.BAD_SEND_DATE


class EmptySender(ApiError):
    code = Code.EMPTY_SENDER


class BadSender(ApiError):
    code = Code.BAD_SENDER


class IysMissing(ApiError):
    code = Code.IYS_MISSING


class IysListInvalid(ApiError):
    code = Code.IYS_LIST_INVALID


class IysCodeMissing(ApiError):
    code = Code.IYS_CODE_MISSING
