import { Chatter } from "@mail/chatter/web_portal/chatter";
import { patch } from "@web/core/utils/patch";
import { CONVERSATION_MODELS } from "../phone_field/sms_button_patch";

/** A "Text message" button in the chatter of contacts, leads and opportunities. */
patch(Chatter.prototype, {
    setup() {
        super.setup(...arguments);
        this.conversationPane = this.env.services["crm_sms_conversation.pane"];
    },

    get hasTextMessageButton() {
        return Boolean(this.conversationPane) && CONVERSATION_MODELS.includes(this.props.threadModel);
    },

    async onClickTextMessage() {
        let resId = this.state.thread?.id;
        if (!resId) {
            // A new record: save it first, as the chatter does to log a note.
            const saved = await this.props.saveRecord?.();
            resId = this.props.webRecord?.resId;
            if (saved === false || !resId) {
                return;
            }
        }
        // The pane shows the record's latest conversation, else its first phone.
        await this.conversationPane.open({
            resModel: this.props.threadModel,
            resId,
            focusComposer: true,
        });
    },
});
