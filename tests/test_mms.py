"""Pictures (MMS): the providers' payloads give the files of a message; the
webhook stores the message and its text is posted at once; the download cron
attaches the files to the chatter message afterwards, refuses what is too big
or not allowed, retries what failed and, finally, says so on the message."""

import io
import json
import time
import uuid
from unittest.mock import patch

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.sms_account import SECRET_MASK
from ..models.sms_conversation import sms_html_to_text
from ..models.sms_media import MAX_ATTEMPTS, MAX_SIZE_PARAM, RETRY_DELAYS
from ..tools import media as media_tools
from ..tools.sms_plivo import PlivoApi
from ..tools.sms_provider import MEDIA_CHUNK_BYTES, ProviderConfig, SmsProviderApi
from ..tools.sms_simulator import PHOTO_URL, SimulatorApi
from ..tools.sms_telnyx import TelnyxApi
from ..tools.sms_twilio import TwilioApi
from ..tools.sms_vonage import APPLICATION_JWT_SECONDS, VonageApi
from .common import TWILIO_SID, TWILIO_TOKEN, FakeResponse, SmsWebhookCase
from .test_plivo import inbound_params as plivo_inbound_params
from .test_telnyx import received_event as telnyx_received_event
from .test_vonage import API_KEY, API_SECRET, DOC_MESSAGE_INBOUND, OUR_NUMBER, SIGNATURE_SECRET, bearer

# A JPEG's first bytes (SOI, APP0 "JFIF"), a PDF, a Windows program.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100
TWILIO_MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages/"
S3 = "https://s3-external-1.amazonaws.com/"
# What the test resolver answers for any host but those named: a public address.
PUBLIC_ADDRESS = "34.226.0.10"
# A Vonage application (Secure Inbound Media) and one of Vonage's media URLs, as its documentation shows them.
VONAGE_APPLICATION_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
VONAGE_MEDIA = "https://api-us.nexmo.com/v3/media/"
MEDIA_LOGGER = "odoo.addons.crm_sms_conversation.models.sms_media"


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


def rsa_key():
    """A new RSA key pair's private key and its PEM (PKCS#8), as Vonage's private.key file holds it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key, pem


@tagged("post_install", "-at_install")
class TestVonageSecureMedia(MmsCase):
    """Vonage's Secure Inbound Media: the files on Vonage's media servers are
    fetched with a JWT of the account's Vonage application (RS256, its private
    key), sent to Vonage's hosts only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key, cls.pem = rsa_key()
        cls.vonage = cls.env["sms.account"].create(
            {
                "name": "Vonage",
                "provider": "vonage",
                "vonage_api": "messages",
                "vonage_api_key": API_KEY,
                "vonage_api_secret": API_SECRET,
                "vonage_signature_secret": SIGNATURE_SECRET,
                "vonage_application_id": VONAGE_APPLICATION_ID,
                # Pasted in the form's password input, which drops the newlines.
                "vonage_private_key": cls.pem.replace("\n", ""),
                "webhook_base_url": cls.env.company.get_base_url(),
            }
        )
        cls.env["sms.number"].create(
            {"number": OUR_NUMBER, "account_id": cls.vonage.id, "user_ids": [(6, 0, cls.user_seller_a.ids)]}
        )

    def _api(self, **config):
        values = {
            "account_sid": API_KEY,
            "auth_token": API_SECRET,
            "api_variant": "messages",
            "application_id": VONAGE_APPLICATION_ID,
            "private_key": self.pem,
            **config,
        }
        return VonageApi(ProviderConfig(**values))

    def _claims(self, authorization):
        """The claims of a Bearer JWT, verified with the application's public key."""
        scheme, _space, token = (authorization or "").partition(" ")
        self.assertEqual(scheme, "Bearer")
        self.assertEqual(jwt.get_unverified_header(token)["alg"], "RS256")
        return jwt.decode(
            token, self.key.public_key(), algorithms=["RS256"], options={"require": ["iat", "exp", "jti"]}
        )

    def _receive_vonage_picture(self, media_url):
        """A signed Messages API call of a picture through the real route and the processing cron: its message."""
        self._partner("Photo Sender", phone=self.customer_number)
        payload = dict(
            DOC_MESSAGE_INBOUND,
            channel="mms",
            message_type="image",
            image={"url": media_url, "caption": "The broken hinge"},
            message_uuid=str(uuid.uuid4()),
            to=OUR_NUMBER[1:],
            **{"from": self.customer_number[1:]},
        )
        del payload["text"]
        body = json.dumps(payload).encode()
        response = self.url_open(
            self._webhook_path(self.vonage, "inbound"),
            data=body,
            headers={"Content-Type": "application/json", "Authorization": bearer(body)},
        )
        self.assertEqual(response.status_code, 200)
        self._run_event_cron()
        return self.env["mail.message"].search(
            [("sms_direction", "=", "inbound"), ("sms_conversation_id", "!=", False)], order="id desc", limit=1
        )

    def test_application_jwt_goes_to_vonage_media_hosts_only(self):
        api = self._api()
        claims = []
        for host in ("api.nexmo.com", "api-us.nexmo.com", "api-eu.nexmo.com", "api-ap.nexmo.com"):
            with self.mock_media(f"https://{host}/", [media_response(200, JPEG, "image/jpeg")]) as calls:
                before = int(time.time())
                result = api.download_media(f"https://{host}/v3/media/{uuid.uuid4()}", 10**6)
                after = int(time.time())
            self.assertEqual(result.status, "ok", host)
            claim = self._claims(calls[0]["auth"])
            self.assertEqual(claim["application_id"], VONAGE_APPLICATION_ID)
            self.assertTrue(before <= claim["iat"] <= after)
            self.assertEqual(claim["exp"] - claim["iat"], APPLICATION_JWT_SECONDS, "a short-lived token")
            self.assertLessEqual(APPLICATION_JWT_SECONDS, 300)
            claims.append(claim)
        self.assertEqual(len({claim["jti"] for claim in claims}), len(claims), "a new jti for each request")

        # A redirect leaves Vonage's hosts: the token stays behind, the hop is fetched without it.
        with (
            self.mock_media("https://api-us.nexmo.com/", [redirect(S3 + "f.jpg?sig=1")]) as vonage,
            self.mock_media(S3, [media_response(200, JPEG, "image/jpeg")]) as s3,
        ):
            self.assertEqual(api.download_media(VONAGE_MEDIA + "f", 10**6).status, "ok")
        self.assertEqual(self._claims(vonage[0]["auth"])["application_id"], VONAGE_APPLICATION_ID)
        self.assertEqual([call["auth"] for call in s3], [None])
        # Another host, given directly, or a look-alike of Vonage's, gets nothing.
        for url in ("https://media.example.com/v3/media/f", "https://api-us.nexmo.com.example.com/v3/media/f"):
            with self.mock_media(url, [media_response(200, JPEG, "image/jpeg")]) as calls:
                self.assertEqual(api.download_media(url, 10**6).status, "ok")
            self.assertIsNone(calls[0]["auth"], url)
        # The account's own API Base URL (a proxy) is Vonage's for the account: it gets the token.
        proxied = self._api(api_base_url="https://vonage-proxy.example.com")
        with self.mock_media("https://vonage-proxy.example.com/", [media_response(200, JPEG, "image/jpeg")]) as calls:
            self.assertEqual(proxied.download_media("https://vonage-proxy.example.com/v3/media/f", 10**6).status, "ok")
        self._claims(calls[0]["auth"])

    def test_standard_media_need_no_credentials(self):
        for config in ({"application_id": "", "private_key": ""}, {"private_key": ""}, {"application_id": ""}):
            api = self._api(**config)
            with self.mock_media("https://api-us.nexmo.com/", [media_response(200, JPEG, "image/jpeg")]) as calls:
                self.assertEqual(api.download_media(VONAGE_MEDIA + "f", 10**6).status, "ok")
            self.assertIsNone(calls[0]["auth"], "Vonage's standard media URLs are fetched as they are")

    def test_secure_picture_through_the_cron(self):
        # The key pasted without its newlines is saved as a PEM, write-only as the other secrets.
        self.assertEqual(self.vonage._get_secret("vonage_private_key"), self.pem)
        self.assertEqual(self.vonage.read(["vonage_private_key"])[0]["vonage_private_key"], SECRET_MASK)
        self.assertNotIn("vonage_private_key", self.env["sms.account"].with_user(self.user_seller_a).fields_get())
        with self.mock_media("https://api-us.nexmo.com/", [media_response(200, JPEG, "image/jpeg")]) as calls:
            message = self._receive_vonage_picture(VONAGE_MEDIA + str(uuid.uuid4()))
            self.assertIn("The broken hinge", message.body)
            self._run_media_cron()
        self.assertEqual(message.attachment_ids.mapped("name"), ["picture-1.jpg"])
        self.assertEqual(self._claims(calls[0]["auth"])["application_id"], VONAGE_APPLICATION_ID)

    @mute_logger(MEDIA_LOGGER)
    def test_unreadable_key_is_retried_then_noted(self):
        # A key that can no longer be read (saved before its checks, or altered in the database).
        self.vonage._set_secret("vonage_private_key", self.pem.replace("M", "#"))
        with self.mock_media("https://api-us.nexmo.com/", []) as calls:
            message = self._receive_vonage_picture(VONAGE_MEDIA + str(uuid.uuid4()))
            (picture,) = self._files(message)
            with self.assertNoLogs(MEDIA_LOGGER, level="ERROR"):
                self._run_media_cron()
            self.assertEqual(
                (picture.state, picture.attempts, picture.error),
                ("pending", 1, "the private key's content cannot be read"),
            )
            minutes = 0
            for delay in RETRY_DELAYS:
                minutes += delay + 1
                self._run_media_cron(self._later(60 * minutes))
        self.assertFalse(calls, "nothing is requested without the token Secure Inbound Media wants")
        self.assertEqual((picture.state, picture.attempts), ("failed", MAX_ATTEMPTS))
        self.assertEqual(
            self._text(message),
            "The broken hinge\n[File not downloaded: the SMS account's credentials for the provider's files "
            "cannot be used — open it in the provider's console.]",
        )

    def test_key_checked_when_saved_and_tested(self):
        _other_key, other_pem = rsa_key()
        self.vonage.vonage_private_key = other_pem.replace("\n", "\\n")  # as a configuration file writes it
        self.assertEqual(self.vonage._get_secret("vonage_private_key"), other_pem)
        public = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        encrypted = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"password"),
        )
        cases = {
            "a public key": (public.decode(), "a public key, not a private key"),
            "protected by a password": (encrypted.decode(), "the private key is protected by a password"),
            "altered": (self.pem.replace("M", "#"), "the private key's content cannot be read"),
            "not a key": ("my-application-secret", "no -----BEGIN PRIVATE KEY-----"),
        }
        for case, (value, reason) in cases.items():
            with self.subTest(case=case), self.assertRaises(ValidationError) as caught:
                self.vonage.vonage_private_key = value
            self.assertIn(f"The Application Private Key of Vonage cannot be used ({reason}", str(caught.exception))
        self.assertEqual(self.vonage._get_secret("vonage_private_key"), other_pem, "the saved key is kept")

        # Test Connection: an application id without its key (or the reverse) is pointed out.
        self.vonage.vonage_private_key = False
        result = self.vonage.action_test_connection()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("Secure Inbound Media needs both the Application ID and the Application Private Key", str(result))
        self.vonage.write({"vonage_application_id": False})
        balance = FakeResponse(200, {"value": 10.28, "autoReload": False})
        with self.mock_provider_api("https://rest.nexmo.com/", [balance], lambda count: None):
            self.assertEqual(self.vonage.action_test_connection()["params"]["type"], "success")
        self.vonage.write({"vonage_application_id": VONAGE_APPLICATION_ID, "vonage_private_key": self.pem})
        with self.mock_provider_api("https://rest.nexmo.com/", [balance], lambda count: None):
            self.assertEqual(self.vonage.action_test_connection()["params"]["type"], "success")
