import { Component, onWillStart, useState } from "@odoo/owl";
import { Dialog } from "@web/core/dialog/dialog";
import { useAutofocus } from "@web/core/utils/hooks";
import { useDebounced } from "@web/core/utils/timing";

/** Pick the contact, company, lead or opportunity a conversation moves to. */
export class MoveConversationDialog extends Component {
    static template = "crm_sms_conversation.MoveConversationDialog";
    static components = { Dialog };
    static props = {
        close: Function,
        conversationLabel: String,
        currentRecord: Object,
        search: Function,
        confirm: Function,
    };

    setup() {
        this.state = useState({ query: "", results: [], selected: null, searching: false, moving: false });
        useAutofocus({ refName: "search" });
        this.debouncedSearch = useDebounced(() => this.search(), 300);
        onWillStart(() => this.search());
    }

    async search() {
        const query = this.state.query;
        this.state.searching = true;
        try {
            const results = await this.props.search(query);
            if (query !== this.state.query) {
                return;
            }
            const current = this.props.currentRecord;
            this.state.results = results.filter(
                (result) => !(result.model === current.model && result.id === current.id)
            );
            if (
                this.state.selected &&
                !this.state.results.some((r) => this.isSelected(r))
            ) {
                this.state.selected = null;
            }
        } finally {
            this.state.searching = false;
        }
    }

    onInput(ev) {
        this.state.query = ev.target.value;
        this.debouncedSearch();
    }

    select(result) {
        this.state.selected = result;
    }

    isSelected(result) {
        const selected = this.state.selected;
        return Boolean(selected && selected.model === result.model && selected.id === result.id);
    }

    async confirm() {
        if (!this.state.selected || this.state.moving) {
            return;
        }
        this.state.moving = true;
        try {
            await this.props.confirm(this.state.selected);
            this.props.close();
        } finally {
            this.state.moving = false;
        }
    }
}
