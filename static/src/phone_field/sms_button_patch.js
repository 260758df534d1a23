import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { SendSMSButton } from "@sms/components/sms_button/sms_button";

/** Models whose SMS button opens the conversation pane instead of Odoo's composer. */
export const CONVERSATION_MODELS = ["res.partner", "crm.lead"];

patch(SendSMSButton.prototype, {
    setup() {
        super.setup(...arguments);
        this.conversationPane = this.env.services["crm_sms_conversation.pane"];
        if (this.usesConversationPane) {
            this.title = _t("Text this number");
        }
    },

    get usesConversationPane() {
        return Boolean(this.conversationPane) && CONVERSATION_MODELS.includes(this.props.record.resModel);
    },

    async onClick() {
        if (!this.usesConversationPane) {
            return super.onClick(...arguments);
        }
        const record = this.props.record;
        const saved = await record.save();
        if (saved === false || !record.resId) {
            return;
        }
        await this.conversationPane.open({
            resModel: record.resModel,
            resId: record.resId,
            phoneField: this.props.name,
            focusComposer: true,
        });
    },
});
