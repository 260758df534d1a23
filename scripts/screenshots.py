"""Take the screenshots of the documentation (docs/images) from a running demo.

Serve the demo first (``make run``, or ``bash scripts/run_demo.sh DB PORT``),
then, with the project's virtualenv::

    python scripts/screenshots.py [--url http://localhost:8069]
        [--db crm_sms_conversation_demo] [--login admin] [--password admin]
        [--out docs/images]

It logs in over JSON-RPC, prepares a conversation on the demo contact
Lucille Bernard (our answer, delivered; her STOP; a message refused because of
it: failed), then drives a headless Chromium over the DevTools protocol.
It writes:

- ``my_text_messages.png``: "My Text Messages", the pane open on the Harbor
  Logistics opportunity;
- ``conversation_pane.png``: Lucille Bernard's form with the pane open;
- ``pane_not_yours.png``: as Marc Demo (``demo``/``demo``), the pane on
  Mitchell Admin's Bayview Motors opportunity, which a customer's reply to
  Marc's number put in his My Text Messages.

Preparing the conversation changes the database: run it on a demo database.
"""

import argparse
import base64
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import requests
import websocket

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WIDTH, HEIGHT = 1440, 900
LIST_ACTION = "crm_sms_conversation.sms_conversation_action"
PANE = ".o_crm_sms_conversation_pane"

HARBOR_OPPORTUNITY = "Harbor Logistics: fleet tracking"
BAYVIEW_OPPORTUNITY = "Bayview Motors: 15 trackers"
LUCILLE = "Lucille Bernard"
LUCILLE_NUMBER = "+14155550134"
ANSWER = "Sure, Friday 10am works for us. I will call you then."
REFUSED = "Here is the agenda for Friday: demo of the fleet dashboard, then pricing."


class RpcError(Exception):
    pass


class Odoo:
    """JSON-RPC client with a web session."""

    def __init__(self, url, db, login, password):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self._ids = itertools.count(1)
        result = self.rpc("/web/session/authenticate", {"db": db, "login": login, "password": password})
        if not result.get("uid"):
            sys.exit(f"Could not log in as {login} on {db}")
        self.session_id = self.session.cookies.get("session_id")

    def rpc(self, path, params):
        response = self.session.post(
            self.url + path,
            json={"jsonrpc": "2.0", "method": "call", "id": next(self._ids), "params": params},
            timeout=60,
        )
        response.raise_for_status()
        payload = response.json()
        if payload.get("error"):
            error = payload["error"]
            raise RpcError(f"{path}: {error.get('data', {}).get('message') or error.get('message')}")
        return payload["result"]

    def call(self, model, method, *args, **kwargs):
        return self.rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def search_one(self, model, domain, fields=("id",)):
        records = self.call(model, "search_read", domain, fields=list(fields), limit=1)
        if not records:
            sys.exit(f"Not found in the demo data: {model} {domain}")
        return records[0]


class Browser:
    """A headless Chromium driven over the DevTools protocol."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="crm_sms_conversation_shots_")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--mute-audio",
                f"--window-size={WIDTH},{HEIGHT}",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._ids = itertools.count(1)
        self.ws = websocket.create_connection(self._page_websocket_url(port), timeout=60, suppress_origin=True)
        self.send("Page.enable")
        self.send("Network.enable")
        self.send("Runtime.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _page_websocket_url(self, port):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=2).json()
                pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except (requests.ConnectionError, ValueError):
                pass
            time.sleep(0.2)
        self.close()
        sys.exit(f"Chromium ({CHROMIUM}) did not start")

    def send(self, method, **params):
        message_id = next(self._ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            # Events (console, network...) are not needed here.

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def set_cookie(self, url, name, value):
        self.send("Network.setCookie", name=name, value=value, url=url, path="/")

    def navigate(self, url):
        self.send("Page.navigate", url=url)

    def wait(self, selector, text=None, timeout=30):
        """Wait for an element matching ``selector`` (and holding ``text``)."""
        check = f"""
            [...document.querySelectorAll({json.dumps(selector)})].some(
                (el) => {json.dumps(text)} === null || el.textContent.includes({json.dumps(text)})
            )"""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(check):
                return
            time.sleep(0.2)
        raise RuntimeError(f"Timed out waiting for {selector} {text or ''}")

    def click(self, selector, text=None):
        """Click in the middle of the element, as a user would."""
        self.wait(selector, text)
        box = self.evaluate(f"""(() => {{
            const el = [...document.querySelectorAll({json.dumps(selector)})].find(
                (el) => {json.dumps(text)} === null || el.textContent.includes({json.dumps(text)})
            );
            el.scrollIntoView({{ block: "center" }});
            const rect = el.getBoundingClientRect();
            return {{ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 }};
        }})()""")
        for event in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                type=event,
                x=box["x"],
                y=box["y"],
                button="left" if event != "mouseMoved" else "none",
                clickCount=1 if event != "mouseMoved" else 0,
            )

    def settle(self, seconds=1.0):
        """Let the web client finish its requests and animations."""
        deadline = time.time() + 10
        busy = "document.querySelectorAll('.o_loading_indicator, .o_blockUI').length"
        while time.time() < deadline and self.evaluate(busy):
            time.sleep(0.2)
        time.sleep(seconds)

    def hide_toasts(self):
        """No "new message" toasts over the screenshot (the demo's replies are recent)."""
        self.evaluate("""(() => {
            const style = document.createElement("style");
            style.textContent = ".o_notification_manager { display: none !important; }";
            document.head.appendChild(style);
        })()""")

    def screenshot(self, path):
        self.hide_toasts()
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))
        print(f"Wrote {path}")

    def close(self):
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


@contextlib.contextmanager
def browsing(odoo):
    """A browser logged in with ``odoo``'s web session."""
    browser = Browser()
    try:
        browser.set_cookie(odoo.url, "session_id", odoo.session_id)
        yield browser
    finally:
        browser.close()


def prepare_lucille(odoo):
    """Lucille's conversation: her question, our answer (delivered), her STOP, a refused message (failed)."""
    partner = odoo.search_one("res.partner", [("name", "=", LUCILLE)])
    data = odoo.call("sms.conversation", "get_pane_data", "res.partner", partner["id"], remote_number=LUCILLE_NUMBER)
    conversation = data["conversation"]
    if not conversation:
        sys.exit(f"{LUCILLE} has no conversation in the demo data")
    messages = odoo.call("sms.conversation", "get_messages", conversation["id"], limit=200)["messages"]
    if any(message["direction"] == "outbound" for message in messages):
        return partner  # Prepared by an earlier run.
    number_id = data["default_number_id"] or data["numbers"][0]["id"]

    def send(body):
        """Send, then have the SMS queue processed until the message leaves it."""
        result = odoo.call(
            "sms.conversation", "send_message", "res.partner", partner["id"], LUCILLE_NUMBER, number_id, body
        )
        message_id = result["message"]["id"]
        cron = odoo.call("ir.model.data", "check_object_reference", "sms", "ir_cron_sms_scheduler_action")[1]
        deadline = time.time() + 120
        while time.time() < deadline:
            page = odoo.call("sms.conversation", "get_messages", conversation["id"], limit=5)
            state = next((m["state"] for m in page["messages"] if m["id"] == message_id), False)
            if state in ("delivered", "failed"):
                return state
            # Refused while the server's cron runs it: it then processes the queue itself.
            with contextlib.suppress(RpcError):
                odoo.call("ir.cron", "method_direct_trigger", [cron])
            time.sleep(2)
        sys.exit(f"The message {body!r} was not processed: is the server's cron running?")

    send(ANSWER)
    # Her STOP puts her number on the blacklist: what we send next is refused.
    odoo.call("sms.conversation", "simulate_inbound", conversation["id"], "STOP")
    send(REFUSED)
    return partner


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument("--db", default="crm_sms_conversation_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--out", default="docs/images")
    args = parser.parse_args()

    odoo = Odoo(args.url, args.db, args.login, args.password)
    lucille = prepare_lucille(odoo)
    os.makedirs(args.out, exist_ok=True)

    with browsing(odoo) as browser:
        # My Text Messages, the pane open on the Harbor Logistics opportunity.
        browser.navigate(f"{odoo.url}/odoo/action-{LIST_ACTION}")
        browser.click(".o_crm_sms_conversation_list .o_data_row td[name=record_name]", HARBOR_OPPORTUNITY)
        browser.wait(f"{PANE} .o_crm_sms_conversation_record", HARBOR_OPPORTUNITY)
        browser.wait(f"{PANE} .o_crm_sms_conversation_message_inbound")
        browser.wait(".o_data_row.o_crm_sms_conversation_row_open")
        browser.settle()
        browser.screenshot(os.path.join(args.out, "my_text_messages.png"))

        # Lucille's form: the chatter's "Text message" button opens the pane.
        browser.navigate(f"{odoo.url}/odoo/action-base.action_partner_form/{lucille['id']}")
        browser.wait(".o_form_view .o_field_widget[name=name]")
        browser.click(".o-mail-Chatter .o_crm_sms_conversation_chatter_text")
        browser.wait(f"{PANE} .o_crm_sms_conversation_record", LUCILLE)
        browser.wait(f"{PANE} .o_crm_sms_conversation_state_delivered")
        # The reason of the failure, as a click on it shows it.
        browser.click(f"{PANE} .o_crm_sms_conversation_state_failed")
        browser.wait(f"{PANE} .o_crm_sms_conversation_failure_detail")
        browser.evaluate("document.activeElement && document.activeElement.blur()")
        browser.settle()
        browser.screenshot(os.path.join(args.out, "conversation_pane.png"))

    # Marc Demo: a reply to his number, on an opportunity he may not open.
    marc = Odoo(args.url, args.db, "demo", "demo")
    with browsing(marc) as browser:
        browser.navigate(f"{marc.url}/odoo/action-{LIST_ACTION}")
        browser.click(".o_crm_sms_conversation_list .o_data_row td[name=record_name]", BAYVIEW_OPPORTUNITY)
        browser.wait(f"{PANE} .o_crm_sms_conversation_record_hidden", BAYVIEW_OPPORTUNITY)
        browser.wait(f"{PANE} .o_crm_sms_conversation_hidden_reason")
        browser.wait(f"{PANE} .o_crm_sms_conversation_message_inbound")
        browser.settle()
        browser.screenshot(os.path.join(args.out, "pane_not_yours.png"))


if __name__ == "__main__":
    main()
