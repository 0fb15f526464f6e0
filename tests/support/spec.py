"""The spec's codes and their exact Turkish messages (spec §3), written out once.

They are copied from the spec, not from ``ileti.errors``, so that a wrong catalogue in
the server fails the tests. Every test module takes its messages from here; a guard
(``tests/test_support_guards.py``) fails when a test module spells one out again.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[int, str] = {
    # message and order states (get-report, webhooks, the outbox)
    110: "Mesaj gönderiliyor",
    111: "Mesaj gönderildi",
    112: "Mesaj gönderilemedi",
    113: "Siparişin gönderimi devam ediyor",
    114: "Siparişin gönderimi tamamlandı",
    115: "Sipariş gönderilemedi",
    # the envelope's status
    200: "İşlem başarılı",
    400: "İstek çözümlenemedi",
    401: "Üyelik bilgileri hatalı",
    402: "Bakiye yetersiz",
    403: "Aktif abonelik bulunamadı",  # İYS consent (§10)
    404: "API istek yapılan yönteme sahip değil",
    422: "İstek içerisindeki değerler doğrulanamadı.",
    429: "İstek limiti aşıldı",
    450: "Gönderilen başlık kullanıma uygun değil",
    451: "Tekrar eden sipariş",
    452: "Mesaj alıcıları hatalı",
    453: "Sipariş boyutu aşıldı",
    454: "Mesaj metni boş",
    455: "Sipariş bulunamadı",
    456: "Sipariş gönderim tarihi henüz gelmedi",
    457: "Mesaj gönderim tarihinin formatı hatalı",
    458: "Tarih aralığı hatalı",
    459: "Başlık kısmı boş olamaz",
    460: "Başlık 11 karakterden fazla olmamalı ve Türkçe karakter içermemelidir.",
    464: "Page değeri 1 den başlamalı.",
    466: "Hatalı numara",
    468: "IYS üzerinden sorgulama yapılıp, yapılmayacağını ayarlamalısınız.",
    469: "IYS listenizi seçmelisiniz, BIREYSEL veya TACIR.",
    470: "IYS kodunuzu ayarlamalısınız.",
    474: "Bu numara üzerindeki engelleme kaldırılamaz",
    503: "Sunucu geçici olarak servis dışı",
}

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>'


def status(code: int) -> dict[str, Any]:
    """The ``status`` object of a response with ``code``."""
    return {"code": code, "message": MESSAGES[code]}


def error(code: int) -> dict[str, Any]:
    """The ``response`` object of an error: its status only."""
    return {"status": status(code)}


def envelope(code: int) -> dict[str, Any]:
    """A whole JSON error document, ``{"response": {"status": ...}}``."""
    return {"response": error(code)}


def json_body(code: int) -> bytes:
    """The exact bytes of a JSON error body (compact, UTF-8)."""
    message = MESSAGES[code]
    return f'{{"response":{{"status":{{"code":{code},"message":"{message}"}}}}}}'.encode()


def xml_body(code: int) -> bytes:
    """The exact bytes of an XML error body."""
    message = MESSAGES[code]
    return (
        XML_PROLOG
        + (
            f"<response><status><code>{code}</code><message>{message}</message></status></response>"
        ).encode()
    )


OK = status(200)
