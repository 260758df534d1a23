import { MessagingMenu } from "@mail/core/public_web/messaging_menu";
import { patch } from "@web/core/utils/patch";
import { CONVERSATION_MODELS } from "../phone_field/sms_button_patch";

/**
 * Whether ``message``, the notification shown for ``thread`` in the
 * messaging menu, is a text message a customer sent.
 *
 * The server tells the direction (``sms_direction``) and the customer's
 * number (``sms_remote_number``) of the messages of a conversation; without
 * them, any SMS notification on a contact, lead or opportunity counts as one.
 */
export function isInboundSmsNotification(thread, message) {
    return Boolean(
        message &&
            message.message_type === "sms" &&
            CONVERSATION_MODELS.includes(thread.model) &&
            thread.id &&
            message.sms_direction !== "outbound"
    );
}

patch(MessagingMenu.prototype, {
    setup() {
        super.setup(...arguments);
        this.conversationPane = this.env.services["crm_sms_conversation.pane"];
    },

    /**
     * A customer's text message opens its record, with the conversation pane
     * on the customer's number (Odoo 18 opens a notification through
     * ``openDiscussion``).
     */
    openDiscussion(thread) {
        const message = thread.needactionMessages?.at(-1);
        if (!this.conversationPane || !isInboundSmsNotification(thread, message)) {
            return super.openDiscussion(...arguments);
        }
        this.dropdown.close();
        return this.openSmsConversation(thread, message, () => super.openDiscussion(thread));
    },

    /** The same on Odoo 19, which opens a notification through ``onClickThread``. */
    onClickThread(isMarkAsRead, thread, message) {
        const last = message || thread.needactionMessages?.at(-1);
        if (isMarkAsRead || !this.conversationPane || !isInboundSmsNotification(thread, last)) {
            return super.onClickThread(...arguments);
        }
        this.dropdown.close();
        return this.openSmsConversation(thread, last, () => super.onClickThread(...arguments));
    },

    /**
     * The record, with the pane on the conversation; a record the seller may
     * not open (another seller's, replied to on the seller's number) stays
     * closed: the pane opens next to My Text Messages, where it works.
     */
    async openSmsConversation(thread, message, openOdooWay) {
        const { model: resModel, id: resId } = thread;
        try {
            await this.conversationPane.open({
                resModel,
                resId,
                // Without it, the pane shows the record's latest conversation.
                remoteNumber: message.sms_remote_number || false,
            });
        } catch {
            // The conversation is out of reach now: Odoo's own way, on the record.
            return openOdooWay();
        }
        const readable = this.conversationPane.state.data?.record.readable;
        await this.env.services.action.doAction(
            readable
                ? { type: "ir.actions.act_window", res_model: resModel, res_id: resId, views: [[false, "form"]] }
                : "crm_sms_conversation.sms_conversation_action"
        );
        // The seller saw it: like opening the record's chat window, this reads the notification.
        if (thread.needactionMessages.length) {
            await thread.markAllMessagesAsRead();
        }
    },
});
