import { Component, useState } from "@odoo/owl";
import { Dialog } from "@web/core/dialog/dialog";
import { useAutofocus } from "@web/core/utils/hooks";

/** Play the customer of a Simulator conversation: for demonstrations and trials. */
export class SimulateReplyDialog extends Component {
    static template = "crm_sms_conversation.SimulateReplyDialog";
    static components = { Dialog };
    static props = {
        close: Function,
        remoteNumber: String,
        confirm: Function,
    };

    setup() {
        this.state = useState({ body: "", withPicture: false, sending: false });
        useAutofocus({ refName: "body" });
    }

    get canConfirm() {
        return Boolean(this.state.body.trim() || this.state.withPicture) && !this.state.sending;
    }

    async confirm() {
        if (!this.canConfirm) {
            return;
        }
        this.state.sending = true;
        try {
            await this.props.confirm(this.state.body, this.state.withPicture);
            this.props.close();
        } finally {
            this.state.sending = false;
        }
    }
}
