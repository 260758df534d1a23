"""Pictures (MMS): the providers' payloads give the files of a message; the
webhook stores the message and its text is posted at once; the download cron
attaches the files to the chatter message afterwards, refuses what is too big
or not allowed, retries what failed and, finally, says so on the message."""

import io
from unittest.mock import patch

import requests
from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.sms_conversation import sms_html_to_text
from ..models.sms_media import MAX_ATTEMPTS, MAX_SIZE_PARAM, RETRY_DELAYS
from ..tools import media as media_tools
from ..tools.sms_plivo import PlivoApi
from ..tools.sms_provider import MEDIA_CHUNK_BYTES, ProviderConfig, SmsProviderApi
from ..tools.sms_simulator import PHOTO_URL, SimulatorApi
from ..tools.sms_telnyx import TelnyxApi
from ..tools.sms_twilio import TwilioApi
from .common import TWILIO_SID, TWILIO_TOKEN, SmsWebhookCase
from .test_plivo import inbound_params as plivo_inbound_params
from .test_telnyx import received_event as telnyx_received_event

# A JPEG's first bytes (SOI, APP0 "JFIF"), a PDF, a Windows program.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100
TWILIO_MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages/"
S3 = "https://s3-external-1.amazonaws.com/"
# What the test resolver answers for any host but those named: a public address.
PUBLIC_ADDRESS = "34.226.0.10"


class Body(io.BytesIO):
    """A response body that counts what was read of it."""

    bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def media_response(status=200, content=b"", content_type=None, headers=None):
    """An answer as ``requests`` streams it: the body is read from ``raw`` by chunks."""
    response = requests.Response()
    response.status_code = status
    response.raw = Body(content)
    response.reason = {200: "OK", 307: "Temporary Redirect", 404: "Not Found", 503: "Service Unavailable"}.get(
        status, ""
    )
    if content_type:
        response.headers["Content-Type"] = content_type
    response.headers.update(headers or {})
    return response


def redirect(location):
    return media_response(307, headers={"Location": location})


class MmsCase(SmsWebhookCase):
    def setUp(self):
        super().setUp()
        # Host -> address the test resolver gives (every other host: a public address).
        self.resolved = resolved = {}
        self.patch(
            SmsProviderApi, "_resolve_host", staticmethod(lambda host, port: {resolved.get(host, PUBLIC_ADDRESS)})
        )

    def _text(self, message):
        """The message as the pane shows it: text, without HTML."""
        return sms_html_to_text(message.body)

    def mock_media(self, url_prefix, responses):
        """Files served at ``url_prefix`` (answers in order; then 404)."""
        return self.mock_provider_api(url_prefix, responses, lambda count: media_response(404))

    def _run_media_cron(self, at=None):
        with freeze_time(at or self._later(0)):
            self._run_cron("crm_sms_conversation.ir_cron_sms_media_download")

    def _files(self, message):
        return self.env["sms.media"].sudo().search([("message_id", "=", message.id)])

    def _twilio_mms(self, body, files):
        """Twilio's inbound call of an MMS: its files' URLs and declared types."""
        sid = "MM" + self._new_sid()[2:]
        params = dict(self._inbound_params(body, sid=sid), NumMedia=str(len(files)))
        for index, content_type in enumerate(files):
            params[f"MediaUrl{index}"] = f"{TWILIO_MEDIA}{sid}/Media/ME{index:032d}"
            params[f"MediaContentType{index}"] = content_type
        return params

    def _receive_mms(self, body, files):
        """An MMS through the real route and the processing cron: its message."""
        self._partner("Photo Sender", phone=self.customer_number)
        response = self._post_twilio("inbound", self._twilio_mms(body, files))
        self.assertEqual(response.status_code, 200)
        self._run_event_cron()
        return self.env["mail.message"].search(
            [("sms_direction", "=", "inbound"), ("sms_conversation_id", "!=", False)], order="id desc", limit=1
        )


@tagged("post_install", "-at_install")
class TestMmsParsing(MmsCase):
    def test_each_provider_gives_the_files_of_a_message(self):
        twilio = TwilioApi(ProviderConfig(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN))
        params = self._twilio_mms("Look", ["image/jpeg", "application/pdf"])
        inbound = twilio.parse_inbound(list(params.items()))
        self.assertEqual(
            inbound.media,
            [[params["MediaUrl0"], "image/jpeg"], [params["MediaUrl1"], "application/pdf"]],
        )

        event = telnyx_received_event("Look")
        event["data"]["payload"]["type"] = "MMS"
        event["data"]["payload"]["media"] = [
            {
                "url": "https://telnyx-mms.s3.amazonaws.com/abc.jpg?X-Amz-Signature=1",
                "content_type": "image/jpeg",
                "size": 4223,
                "hash_sha256": "5a8a6a9e",
            },
            {"url": "https://telnyx-mms.s3.amazonaws.com/def.vcf", "content_type": "text/x-vcard", "size": 97},
            {"content_type": "image/png"},  # no URL: counted, not downloaded
        ]
        inbound = TelnyxApi(ProviderConfig()).parse_inbound(event)
        self.assertEqual(
            inbound.media,
            [
                ["https://telnyx-mms.s3.amazonaws.com/abc.jpg?X-Amz-Signature=1", "image/jpeg"],
                ["https://telnyx-mms.s3.amazonaws.com/def.vcf", "text/x-vcard"],
            ],
        )
        self.assertEqual((inbound.body, inbound.num_media), ("Look", 3))

        # Plivo's MMS: the text in Body (not Text), the files in Media0..., without their types.
        params = plivo_inbound_params()
        del params["Text"]
        params.update(
            Type="mms",
            Body="Look",
            MediaCount="2",
            Media1="https://media.plivo.com/Account/MA1/Media/m-2",
            Media0="https://api.plivo.com/v1/Account/MA1/Message/u-1/Media/m-1/",
        )
        inbound = PlivoApi(ProviderConfig()).parse_inbound(list(params.items()))
        self.assertEqual(
            inbound.media,
            [
                ["https://api.plivo.com/v1/Account/MA1/Message/u-1/Media/m-1/", ""],
                ["https://media.plivo.com/Account/MA1/Media/m-2", ""],
            ],
        )
        self.assertEqual((inbound.body, inbound.num_media), ("Look", 2))

        inbound = SimulatorApi(ProviderConfig()).parse_inbound(
            [("id", "SIM1"), ("from", "+1"), ("to", "+2"), ("body", ""), ("media0", PHOTO_URL), ("media_type0", "")]
        )
        self.assertEqual(inbound.media, [[PHOTO_URL, ""]])

    def test_what_the_bytes_say(self):
        self.assertEqual(media_tools.check_content("image/jpeg", JPEG), ("image/jpeg", None))
        png = SimulatorApi(ProviderConfig()).download_media(PHOTO_URL, 10**6)
        self.assertEqual((png.status, png.content_type), ("ok", "image/png"))
        self.assertEqual(media_tools.check_content("image/jpeg", png.content), ("image/png", None), "a mislabeled PNG")
        self.assertEqual(media_tools.check_content("", PDF), ("application/pdf", None), "no type: the bytes tell")
        self.assertEqual(media_tools.check_content("audio/amr", b"#!AMR\n\x3c"), ("audio/amr", None))
        self.assertEqual(media_tools.check_content("text/vcard", b"BEGIN:VCARD\r\nFN:Ann\r\n"), ("text/vcard", None))
        self.assertEqual(media_tools.check_content("image/jpeg", EXE), (None, ("mismatch", "image/jpeg")))
        self.assertEqual(media_tools.check_content("audio/mpeg", EXE), (None, ("mismatch", "audio/mpeg")))
        self.assertEqual(media_tools.check_content("application/pdf", JPEG), (None, ("mismatch", "application/pdf")))
        self.assertEqual(
            media_tools.check_content("video/mp4", b"\x00\x00\x00\x18ftypmp42"), (None, ("type", "video/mp4"))
        )
        self.assertEqual(media_tools.check_content("", b"\x00\x01"), (None, ("type", "unknown")))


@tagged("post_install", "-at_install")
class TestMmsDownload(MmsCase):
    def test_text_at_once_files_afterwards(self):
        with (
            self.mock_media(
                "https://api.twilio.com/", [redirect(S3 + "a.jpg?sig=1"), redirect(S3 + "b.pdf?sig=2")]
            ) as api,
            self.mock_media(
                S3, [media_response(200, JPEG, "image/jpeg"), media_response(200, PDF, "application/pdf")]
            ) as s3,
        ):
            message = self._receive_mms("Here is the damaged part", ["image/jpeg", "application/pdf"])
            self.assertIn("Here is the damaged part", message.body, "the text is posted at once")
            self.assertNotIn("attachment", message.body)
            self.assertFalse(message.attachment_ids)
            self.assertFalse(api or s3, "nothing is downloaded while the message is processed")
            self.assertEqual(self._files(message).mapped("state"), ["pending", "pending"])
            pane = (
                self.env["sms.conversation"].with_user(self.user_seller_a).get_messages(message.sms_conversation_id.id)
            )
            self.assertEqual(pane["messages"][-1]["downloading"], 2, "the pane says the files are on their way")

            self._run_media_cron()

        attachments = message.attachment_ids.sorted("id")
        self.assertEqual(attachments.mapped("name"), ["picture-1.jpg", "document-2.pdf"])
        self.assertEqual(attachments.mapped("mimetype"), ["image/jpeg", "application/pdf"])
        self.assertEqual(attachments[0].raw, JPEG)
        partner = self.env["res.partner"].search([("name", "=", "Photo Sender")])
        self.assertEqual({(a.res_model, a.res_id) for a in attachments}, {("res.partner", partner.id)})
        self.assertEqual(self._files(message).mapped("state"), ["done", "done"])
        # The credentials go to Twilio only, not to the storage it redirects to.
        self.assertTrue(all(call["auth"].startswith("Basic ") for call in api))
        self.assertEqual([call["auth"] for call in s3], [None, None])
        self.assertEqual([call["url"] for call in s3], [S3 + "a.jpg?sig=1", S3 + "b.pdf?sig=2"])
        self.assertTrue(all(call["timeout"] for call in api + s3))

        # The pane shows the picture inline and the PDF as a link, which opens with its token.
        pane = self.env["sms.conversation"].with_user(self.user_seller_a).get_messages(message.sms_conversation_id.id)
        shown = pane["messages"][-1]
        self.assertEqual(shown["downloading"], 0)
        self.assertEqual(
            [(a["name"], a["mimetype"], a["is_image"]) for a in shown["attachments"]],
            [("picture-1.jpg", "image/jpeg", True), ("document-2.pdf", "application/pdf", False)],
        )
        picture = shown["attachments"][0]
        response = self.url_open(f"/web/content/{picture['id']}?access_token={picture['access_token']}")
        self.assertEqual((response.status_code, response.content), (200, JPEG))
        self.assertIn(self.url_open(f"/web/content/{picture['id']}?access_token=wrong").status_code, (403, 404))

    def test_refused_files_leave_a_note_without_retry(self):
        self.env["res.config.settings"].create({"sms_media_max_size_mb": 1}).execute()
        self.assertEqual(self.env["ir.config_parameter"].sudo().get_param(MAX_SIZE_PARAM), "1")
        big = JPEG[:20] + b"\x00" * (3 * 1024 * 1024)
        streamed_big = media_response(200, big, "image/jpeg")
        declared_big = media_response(200, big, "image/jpeg", {"Content-Length": str(len(big))})
        with (
            self.mock_media(
                "https://api.twilio.com/",
                [
                    streamed_big,
                    declared_big,
                    media_response(200, EXE, "application/x-msdownload"),
                    media_response(200, EXE, "image/jpeg"),
                ],
            ) as calls,
        ):
            message = self._receive_mms("Files", ["image/jpeg", "image/jpeg", "application/x-msdownload", "image/jpeg"])
            self._run_media_cron()
            self._run_media_cron(self._later(3 * 3600))
        self.assertEqual(len(calls), 4, "refused files are not tried again")
        self.assertFalse(message.attachment_ids)
        files = self._files(message)
        self.assertEqual(files.mapped("state"), ["refused"] * 4)
        self.assertEqual(
            files.mapped("error"), ["over 1048576", str(len(big)), "application/x-msdownload", "image/jpeg"]
        )
        self.assertLess(
            streamed_big.raw.bytes_read, 1024 * 1024 + 2 * MEDIA_CHUNK_BYTES, "reading stopped at the limit"
        )
        self.assertEqual(declared_big.raw.bytes_read, 0, "refused on its announced size, before reading")
        too_big = "[Picture not kept: it is larger than the 1 MB limit (Settings > CRM > Text Messages).]"
        self.assertEqual(
            self._text(message).split("\n"),
            [
                "Files",
                too_big,
                too_big,
                "[File not kept: files of type application/x-msdownload are not accepted.]",
                "[Picture not kept: it claims to be image/jpeg but its content is something else.]",
            ],
        )

    @mute_logger("odoo.addons.crm_sms_conversation.models.sms_media")
    def test_failed_download_is_retried_then_noted(self):
        # The first file meets a 503, then is served; the second is missing (404), for ever.
        with self.mock_media(
            "https://api.twilio.com/",
            [media_response(503), media_response(404), media_response(200, JPEG, "image/jpeg")],
        ) as calls:
            message = self._receive_mms("Two", ["image/jpeg", "image/jpeg"])
            first, second = self._files(message)
            self._run_media_cron()
            self.assertEqual(
                (first.state, first.attempts, first.error), ("pending", 1, "HTTP 503: Service Unavailable")
            )
            self.assertEqual((second.state, second.attempts), ("pending", 1))
            self._run_media_cron(self._later(30))
            self.assertEqual(len(calls), 2, "nothing is due before the delay")
            minutes = 0
            for delay in RETRY_DELAYS:
                minutes += delay + 1
                self._run_media_cron(self._later(60 * minutes))
                if second.state == "pending":
                    self.assertNotIn("not downloaded", self._text(message), "no note before the last attempt")
            self._run_media_cron(self._later(60 * (minutes + 600)))
        self.assertEqual(first.state, "done", "attached at its second attempt")
        self.assertEqual(message.attachment_ids, first.attachment_id)
        self.assertEqual((second.state, second.attempts), ("failed", MAX_ATTEMPTS))
        self.assertEqual(len(calls), 2 + MAX_ATTEMPTS, "never tried again after the last attempt")
        self.assertEqual(
            self._text(message),
            "Two\n[Picture not downloaded: the provider answered 404 — open it in the provider's console.]",
        )

    def test_unsafe_addresses_are_refused(self):
        api = TwilioApi(ProviderConfig(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN))
        self.resolved.update({"intranet.example": "10.0.0.5", "rebind.example": "::ffff:127.0.0.1"})
        with self.mock_media("http", []) as calls:
            for url in ("http://api.twilio.com/x", "https://intranet.example/x", "https://rebind.example/x"):
                result = api.download_media(url, 10**6)
                self.assertEqual((result.status, result.error_code), ("refused", "address"), url)
        self.assertFalse(calls, "never requested")
        for location in ("http://cdn.example/a.jpg", "https://intranet.example/a.jpg", "file:///etc/passwd"):
            with self.mock_media("https://api.twilio.com/", [redirect(location)]), self.mock_media("http", []) as hop:
                result = api.download_media(TWILIO_MEDIA + "x", 10**6)
                self.assertEqual((result.status, result.error_code), ("refused", "address"), location)
                self.assertFalse(hop, "a redirect to an unsafe address is not followed")
        with self.mock_media("https://api.twilio.com/", [redirect(TWILIO_MEDIA + "x")] * 5) as calls:
            result = api.download_media(TWILIO_MEDIA + "x", 10**6)
        self.assertEqual((result.status, result.error_message, len(calls)), ("refused", "too many redirects", 4))
        # The account's API is on this machine (a test server): its media too.
        local = TwilioApi(ProviderConfig(TWILIO_SID, TWILIO_TOKEN, api_base_url="http://localhost:8069"))
        self.resolved["localhost"] = "127.0.0.1"
        with self.mock_media("http://localhost:8069/", [media_response(200, JPEG, "image/jpeg")]) as calls:
            result = local.download_media("http://localhost:8069/media/1", 10**6)
        self.assertEqual(result.status, "ok")
        self.assertTrue(calls[0]["auth"], "the credentials go to the account's own API")

    def test_telnyx_and_plivo_downloads(self):
        telnyx = TelnyxApi(ProviderConfig(auth_token="KEY-secret"))
        with self.mock_media(S3, [media_response(200, JPEG, "image/jpeg; charset=binary")]) as calls:
            result = telnyx.download_media(S3 + "abc.jpg?X-Amz-Signature=1", 10**6)
        self.assertEqual((result.status, result.content_type), ("ok", "image/jpeg"))
        self.assertIsNone(calls[0]["auth"], "pre-signed: Telnyx's API key is not sent")
        plivo = PlivoApi(ProviderConfig(account_sid="MA1", auth_token="plivo-token"))
        with self.mock_media(
            "https://media.plivo.com/", [media_response(200, PDF, "application/octet-stream")]
        ) as calls:
            result = plivo.download_media("https://media.plivo.com/Account/MA1/Media/m-2", 10**6)
        self.assertEqual((result.status, result.content_type), ("ok", "application/pdf"), "the bytes tell")
        self.assertTrue(calls[0]["auth"].startswith("Basic "))
        with self.mock_media("https://api.plivo.com/", [requests.exceptions.ConnectTimeout("down")]):
            result = plivo.download_media("https://api.plivo.com/v1/Account/MA1/Media/m-1/", 10**6)
        self.assertEqual(result.status, "retry")

    def test_simulator_picture(self):
        self._partner("Simulated", phone=self.customer_number)
        event = self.simulator._simulate_inbound(
            self.number_sim.number, self.customer_number, "", media=[(PHOTO_URL, "image/png")]
        )
        message = event.message_id
        self.assertEqual(event.conversation_id.last_message_preview, "Picture")
        with patch.object(SmsProviderApi, "_request", side_effect=AssertionError("no network")):
            self._run_media_cron()
        self.assertEqual(message.attachment_ids.mapped("name"), ["picture-1.png"])
        self.assertEqual(message.attachment_ids.mimetype, "image/png")

        # The wizard sends a picture alone; it refuses a reply with neither text nor picture.
        Wizard = self.env["sms.simulate.reply"].with_user(self.user_seller_c)
        values = {"number_id": self.number_sim.id, "from_number": self.customer_number}
        with self.assertRaises(UserError):
            Wizard.create(values).action_send()
        Wizard.create(dict(values, with_picture=True)).action_send()
        self.assertEqual(
            self.env["sms.media"].sudo().search([], order="id desc", limit=1).message_id.sms_conversation_id,
            event.conversation_id,
        )
