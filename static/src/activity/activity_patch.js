import { Activity } from "@mail/core/web/activity";
import { ActivityListPopoverItem } from "@mail/core/web/activity_list_popover_item";
import { patch } from "@web/core/utils/patch";
import { CONVERSATION_MODELS } from "../phone_field/sms_button_patch";

export const TEXT_MESSAGE_CATEGORY = "sms_conversation";

/** A "Text Message" activity on a record the conversation pane can show. */
export function isTextMessageActivity(activity) {
    return (
        activity.activity_category === TEXT_MESSAGE_CATEGORY &&
        CONVERSATION_MODELS.includes(activity.res_model) &&
        Boolean(activity.res_id)
    );
}

/** Open the pane on the activity's record, ready to write: once sent, it offers to mark the activity done. */
export function openTextMessageActivity(env, activity) {
    return env.services["crm_sms_conversation.pane"].open({
        resModel: activity.res_model,
        resId: activity.res_id,
        focusComposer: true,
        activity: { id: activity.id, summary: activity.summary || activity.display_name || "" },
    });
}

// The activities of the chatter.
patch(Activity.prototype, {
    get isTextMessageActivity() {
        return isTextMessageActivity(this.props.activity);
    },

    async onClickTextMessage() {
        await openTextMessageActivity(this.env, this.props.activity);
    },
});

// The popover of the activity views, and of the activity widgets of lists and kanbans.
patch(ActivityListPopoverItem.prototype, {
    get isTextMessageActivity() {
        return this.props.activity.state !== "done" && isTextMessageActivity(this.props.activity);
    },

    async onClickTextMessage() {
        // Given by the popover to close itself.
        this.props.onClickEditActivityButton?.();
        await openTextMessageActivity(this.env, this.props.activity);
    },
});
