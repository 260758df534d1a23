import hashlib

from odoo.tests import BaseCase, tagged

from ..tools.phone import normalize_e164
from ..tools.sms_provider import InvalidPayload, ProviderConfig
from ..tools.sms_twilio import TwilioApi, twilio_signature

# Vectors published with Twilio's Python SDK (twilio/twilio-python,
# tests/unit/test_request_validator.py), auth token "12345".
SDK_TOKEN = "12345"
SDK_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
SDK_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
    ("Caller", "+14158675309"),
]
SDK_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@tagged("post_install", "-at_install")
class TestTwilioSignature(BaseCase):
    def _api(self, token=SDK_TOKEN):
        return TwilioApi(ProviderConfig(account_sid="AC123", auth_token=token))

    def test_sdk_vector(self):
        self.assertEqual(twilio_signature(SDK_TOKEN, SDK_URL, SDK_PARAMS), SDK_SIGNATURE)

    def test_sdk_vectors_with_ports(self):
        self.assertEqual(
            twilio_signature(SDK_TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", SDK_PARAMS),
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
        )
        self.assertEqual(
            twilio_signature(SDK_TOKEN, "http://mycompany.com:80/myapp.php?foo=1&bar=2", SDK_PARAMS),
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
        )
        self.assertEqual(
            twilio_signature(SDK_TOKEN, "http://mycompany.com:1234/myapp.php?foo=1&bar=2", SDK_PARAMS),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        )

    def test_sdk_vector_repeated_keys(self):
        params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
        self.assertEqual(twilio_signature(SDK_TOKEN, SDK_URL, params), "IK+Dwps556ElfBT0I3Rgjkr1wJU=")

    def test_verify_accepts_url_with_or_without_default_port(self):
        headers = {"X-Twilio-Signature": "kvajT1Ptam85bY51eRf/AJRuM3w="}  # signed with :443
        self.assertTrue(self._api().verify_request(SDK_URL, SDK_PARAMS, headers, b""))
        headers = {"X-Twilio-Signature": SDK_SIGNATURE}  # signed without the port
        self.assertTrue(
            self._api().verify_request("https://mycompany.com:443/myapp.php?foo=1&bar=2", SDK_PARAMS, headers, b"")
        )

    def test_verify_json_body_vector(self):
        body = b'{"property": "value", "boolean": true}'
        body_hash = hashlib.sha256(body).hexdigest()
        self.assertEqual(body_hash, "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620")
        url = f"{SDK_URL}&bodySHA256={body_hash}"
        headers = {"X-Twilio-Signature": "a9nBmqA0ju/hNViExpshrM61xv4="}
        self.assertTrue(self._api().verify_request(url, [], headers, body))
        self.assertFalse(self._api().verify_request(url, [], headers, body + b" "), "a tampered body fails")

    def test_verify_rejects_forged_and_missing(self):
        self.assertFalse(self._api().verify_request(SDK_URL, SDK_PARAMS, {}, b""))
        self.assertFalse(self._api().verify_request(SDK_URL, SDK_PARAMS, {"X-Twilio-Signature": "AAAA"}, b""))
        self.assertFalse(
            self._api(token="other").verify_request(SDK_URL, SDK_PARAMS, {"X-Twilio-Signature": SDK_SIGNATURE}, b"")
        )
        tampered = [*SDK_PARAMS[:-1], ("Caller", "+14150000000")]
        self.assertFalse(self._api().verify_request(SDK_URL, tampered, {"X-Twilio-Signature": SDK_SIGNATURE}, b""))

    def test_parse_inbound_requires_fields(self):
        api = self._api()
        good = [("MessageSid", "SM1"), ("From", "+14155550123"), ("To", "+14155550100"), ("Body", "Hi")]
        self.assertEqual(api.parse_inbound(good).external_id, "SM1")
        for missing in ("MessageSid", "From", "To", "Body"):
            with self.assertRaises(InvalidPayload, msg=missing):
                api.parse_inbound([pair for pair in good if pair[0] != missing])
        with self.assertRaises(InvalidPayload):
            api.parse_inbound([*good, ("NumMedia", "many")])

    def test_parse_status_maps_states(self):
        api = self._api()
        report = api.parse_status([("MessageSid", "SM1"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")])
        self.assertEqual((report.status, report.error_code), ("undelivered", "30003"))
        self.assertEqual(api.map_status("delivered"), "sent")
        self.assertEqual(api.map_status("undelivered"), "error")
        with self.assertRaises(InvalidPayload):
            api.parse_status([("MessageSid", "SM1"), ("MessageStatus", "exploded")])

    def test_error_code_mapping(self):
        api = self._api()
        self.assertEqual(api.map_error("21211"), "sms_number_format")
        self.assertEqual(api.map_error("21610"), "sms_optout")
        self.assertEqual(api.map_error("30003"), "sms_not_delivered")
        self.assertEqual(api.map_error("30005"), "sms_invalid_destination")
        self.assertEqual(api.map_error("30007"), "sms_rejected")
        self.assertEqual(api.map_error("99999"), "unknown")


@tagged("post_install", "-at_install")
class TestPhoneNormalization(BaseCase):
    def test_formats(self):
        # Facts from phonenumbers' own examples.
        self.assertEqual(normalize_e164("020 8366 1177", "GB"), "+442083661177")
        self.assertEqual(normalize_e164("00 1 650 253 2222", "GB"), "+16502532222")
        self.assertEqual(normalize_e164("00 1 650 253 2222", "US"), "+16502532222", "00 is international anywhere")
        self.assertEqual(normalize_e164("(415) 555-0123", "US"), "+14155550123")
        self.assertEqual(normalize_e164("+1 415.555.0123", "BE"), "+14155550123")
        self.assertEqual(normalize_e164("0470 12 34 56", "BE"), "+32470123456")

    def test_rejects_impossible_numbers(self):
        self.assertIsNone(normalize_e164("+120012301"), "too short to be possible")
        self.assertEqual(normalize_e164("+12001230101"), "+12001230101", "possible, even if not valid")
        self.assertIsNone(normalize_e164("Twilio"))
        self.assertIsNone(normalize_e164(""))
        self.assertIsNone(normalize_e164(None))
        self.assertIsNone(normalize_e164("415 555 0123", None), "a national number needs a country")
