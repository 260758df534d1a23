import { useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useBus, useService } from "@web/core/utils/hooks";
import { ListController } from "@web/views/list/list_controller";
import { ListRenderer } from "@web/views/list/list_renderer";
import { listView } from "@web/views/list/list_view";

/**
 * "My Text Messages": a click on a row opens the conversation in the pane,
 * next to the list, instead of a form view.
 */
export class ConversationListController extends ListController {
    setup() {
        super.setup();
        this.pane = useService("crm_sms_conversation.pane");
        // Unread counters and last messages change as the seller reads and writes.
        useBus(this.pane.bus, "CONVERSATION_UPDATED", () => this.model.root.load());
    }

    async openRecord(record) {
        const { res_model, res_id, remote_number } = record.data;
        // A many2one_reference value is {resId, displayName}.
        const resId = res_id && typeof res_id === "object" ? res_id.resId : res_id;
        await this.pane.open({ resModel: res_model, resId, remoteNumber: remote_number });
    }
}

export class ConversationListRenderer extends ListRenderer {
    setup() {
        super.setup();
        this.paneState = useState(useService("crm_sms_conversation.pane").state);
    }

    getRowClass(record) {
        const classNames = super.getRowClass(record);
        const conversation = this.paneState.isOpen && this.paneState.data?.conversation;
        if (conversation && conversation.id === record.resId) {
            return `${classNames} o_crm_sms_conversation_row_open`;
        }
        return classNames;
    }
}

export const conversationListView = {
    ...listView,
    Controller: ConversationListController,
    Renderer: ConversationListRenderer,
};

registry.category("views").add("crm_sms_conversation_list", conversationListView);
