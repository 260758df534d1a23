import { EventBus, reactive } from "@odoo/owl";
import { router } from "@web/core/browser/router";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { ConversationPaneContainer } from "./conversation_pane";

export const CONVERSATION_MODEL = "sms.conversation";
export const PAGE_SIZE = 30;
// The URL keeps what the pane shows ("model,id,number"): it opens again after a reload.
export const URL_KEY = "sms_pane";
router.addLockedKey(URL_KEY);

/**
 * The conversation pane: one at a time, on the right of the action area.
 *
 * ``state`` holds what the pane shows; the component renders it and calls
 * the methods below. The other parts of the web client (the list of
 * conversations, the phone fields) open it with ``open()``, and listen to
 * ``bus`` ("CONVERSATION_UPDATED") to refresh what they show.
 */
export class ConversationPaneService {
    constructor(env, { orm, bus_service, "mail.store": store }) {
        this.env = env;
        this.orm = orm;
        this.busService = bus_service;
        this.store = store;
        this.bus = new EventBus();
        this.state = reactive({
            isOpen: false,
            // Bumped at each open(): the pane is rendered again from scratch.
            key: 0,
            focusComposer: false,
            data: null,
            messages: [],
            hasMore: false,
            loadingOlder: false,
            sending: false,
            // A reply of the customer shown that went to another record: {resModel, resId, name}.
            elsewhere: null,
            // The Text Message activity the pane was opened for: {id, summary, sent, done}.
            activity: null,
        });
        this._openToken = 0;
        this._drafts = new Map();
        this.busService.subscribe("crm_sms_conversation/inbound", (payload) =>
            this._onNotification("inbound", payload)
        );
        this.busService.subscribe("crm_sms_conversation/status", (payload) =>
            this._onNotification("status", payload)
        );
        this.busService.start();
        this._restoreFromUrl();
    }

    // Public API ------------------------------------------------------------

    /**
     * Open the pane on the conversation of a record with a customer number.
     *
     * @param {Object} params
     * @param {string} params.resModel "res.partner" or "crm.lead"
     * @param {number} params.resId
     * @param {string} [params.remoteNumber] customer number (E.164 or as typed)
     * @param {string} [params.phoneField] record field holding the number
     * @param {boolean} [params.focusComposer]
     * @param {boolean} [params.keepComposer] refresh the pane shown without
     *   rendering it from scratch (what the seller is writing stays)
     */
    async open({
        resModel,
        resId,
        remoteNumber = false,
        phoneField = false,
        focusComposer = false,
        keepComposer = false,
        activity = null,
    }) {
        const token = ++this._openToken;
        const data = await this.orm.call(CONVERSATION_MODEL, "get_pane_data", [resModel, resId], {
            remote_number: remoteNumber || false,
        });
        if (!data.conversation?.id) {
            data.conversation = false;
        }
        if (phoneField && !remoteNumber) {
            const phone = (data.phones || []).find((phone) => phone.field === phoneField);
            if (phone && phone.number && phone.number !== data.remote_number) {
                return this.open({ resModel, resId, remoteNumber: phone.number, focusComposer, keepComposer, activity });
            }
        }
        const page = data.conversation ? await this._fetchMessages(data.conversation.id) : null;
        if (token !== this._openToken) {
            return; // opened on something else meanwhile
        }
        document.body.classList.add("o_crm_sms_conversation_pane_open");
        Object.assign(this.state, {
            isOpen: true,
            key: keepComposer && this.state.isOpen ? this.state.key : this.state.key + 1,
            focusComposer,
            data,
            messages: page ? page.messages : [],
            hasMore: page ? page.has_more : false,
            loadingOlder: false,
            sending: false,
            elsewhere: keepComposer && this.state.isOpen ? this.state.elsewhere : null,
            activity: activity
                ? { ...activity, sent: false, done: false }
                : keepComposer && this.state.isOpen
                  ? this.state.activity
                  : null,
        });
        router.replaceState({ [URL_KEY]: `${data.record.model},${data.record.id},${data.remote_number || ""}` });
        if (data.conversation && data.conversation.unread_count) {
            await this.markRead();
        }
    }

    close() {
        this._openToken++;
        document.body.classList.remove("o_crm_sms_conversation_pane_open");
        Object.assign(this.state, { isOpen: false, data: null, messages: [], hasMore: false, elsewhere: null });
        router.replaceState({ [URL_KEY]: undefined });
    }

    /** Load again what the pane shows (e.g. after a template was created). */
    async reload({ focusComposer = false, keepComposer = true } = {}) {
        const data = this.state.data;
        if (!this.state.isOpen || !data) {
            return;
        }
        await this.open({
            resModel: data.record.model,
            resId: data.record.id,
            remoteNumber: data.remote_number,
            focusComposer,
            keepComposer,
        });
    }

    /** Key of the draft of the conversation shown: the record and the customer number. */
    get draftKey() {
        const data = this.state.data;
        return data ? `${data.record.model},${data.record.id},${data.remote_number || ""}` : "";
    }

    getDraft(key = this.draftKey) {
        return this._drafts.get(key) || "";
    }

    setDraft(body, key = this.draftKey) {
        if (body && body.trim()) {
            this._drafts.set(key, body);
        } else {
            this._drafts.delete(key);
        }
    }

    get conversationId() {
        return this.state.data?.conversation?.id || false;
    }

    /** Load the page of messages before the oldest one shown. */
    async loadOlder() {
        const conversationId = this.conversationId;
        if (!conversationId || !this.state.hasMore || this.state.loadingOlder || !this.state.messages.length) {
            return false;
        }
        this.state.loadingOlder = true;
        try {
            const page = await this._fetchMessages(conversationId, this.state.messages[0].id);
            if (conversationId !== this.conversationId) {
                return false;
            }
            this.state.messages = this._merge(page.messages, this.state.messages);
            this.state.hasMore = page.has_more;
            return true;
        } finally {
            this.state.loadingOlder = false;
        }
    }

    /** Fetch the latest page again and merge it: new messages and delivery states. */
    async refresh() {
        const conversationId = this.conversationId;
        if (!conversationId) {
            return this.reload();
        }
        const page = await this._fetchMessages(conversationId);
        if (conversationId !== this.conversationId) {
            return;
        }
        const hadOlder = this.state.messages.length > page.messages.length;
        this.state.messages = this._merge(this.state.messages, page.messages);
        if (!hadOlder) {
            this.state.hasMore = page.has_more;
        }
    }

    /**
     * Send a text. During the customer's quiet hours the server sends nothing
     * unless `quietHours` says what the seller chose ("now" or "later"): the
     * result then holds the `quiet_hours` notice to ask them.
     */
    async send({ numberId, body, quietHours = false }) {
        const data = this.state.data;
        this.state.sending = true;
        try {
            const result = await this.orm.call(
                CONVERSATION_MODEL,
                "send_message",
                [data.record.model, data.record.id, data.remote_number, numberId, body],
                { quiet_hours: quietHours }
            );
            if (data !== this.state.data || result.quiet_hours) {
                return result;
            }
            if (result.conversation_id !== this.conversationId) {
                // The first message: the conversation now exists (and can be moved).
                await this.reload();
            } else {
                this.state.messages = this._merge(this.state.messages, [result.message]);
            }
            this.bus.trigger("CONVERSATION_UPDATED", { conversationId: result.conversation_id });
            this._refreshChatter(data.record.model, data.record.id);
            if (this.state.activity && !this.state.activity.done) {
                this.state.activity.sent = true;
            }
            return result;
        } finally {
            this.state.sending = false;
        }
    }

    /** Mark done the Text Message activity the text was written for. */
    async markActivityDone() {
        const activity = this.state.activity;
        if (!activity || activity.done) {
            return;
        }
        const data = this.state.data;
        const feedback = _t("Text message sent.");
        // The chatter's record of it, when shown: marked done the way the chatter does
        // (the store's model is "mail.activity" on Odoo 19, "Activity" on 18).
        const Activity = this.store?.["mail.activity"] || this.store?.Activity;
        const record = Activity?.get(activity.id);
        if (record) {
            record.feedback = feedback;
            await record.markAsDone();
            record.remove();
        } else {
            await this.orm.call("mail.activity", "action_feedback", [[activity.id]], { feedback });
        }
        activity.done = true;
        this._refreshChatter(data.record.model, data.record.id);
    }

    async renderTemplate(templateId) {
        const data = this.state.data;
        return this.orm.call(CONVERSATION_MODEL, "render_template", [templateId, data.record.model, data.record.id]);
    }

    async markRead() {
        const conversationId = this.conversationId;
        if (!conversationId) {
            return;
        }
        await this.orm.call(CONVERSATION_MODEL, "mark_read", [conversationId]);
        if (this.state.data?.conversation?.id === conversationId) {
            this.state.data.conversation.unread_count = 0;
        }
        this.bus.trigger("CONVERSATION_UPDATED", { conversationId });
    }

    /**
     * A customer's reply on a Simulator conversation. Whoever simulated sees
     * it at once: here, or on the record the routing rules chose.
     */
    async simulateInbound(body, withPicture = false) {
        const conversationId = this.conversationId;
        const data = this.state.data;
        const landed = await this.orm.call(CONVERSATION_MODEL, "simulate_inbound", [conversationId, body], {
            with_picture: withPicture,
        });
        if (conversationId !== this.conversationId || !landed.res_model) {
            // Opened elsewhere meanwhile, or left for the processing cron: the bus tells.
            return landed;
        }
        if (landed.res_model !== data.record.model || landed.res_id !== data.record.id) {
            await this.open({ resModel: landed.res_model, resId: landed.res_id, remoteNumber: data.remote_number });
        } else {
            await this.refresh();
        }
        return landed;
    }

    /** Open the pane on the record where the customer's latest reply went. */
    async openElsewhere() {
        const elsewhere = this.state.elsewhere;
        if (elsewhere) {
            await this.open({
                resModel: elsewhere.resModel,
                resId: elsewhere.resId,
                remoteNumber: this.state.data.remote_number,
            });
        }
    }

    async searchMoveTargets(query) {
        return this.orm.call(CONVERSATION_MODEL, "search_move_targets", [query], { limit: 8 });
    }

    /** Move the open conversation to another record, and show it there. */
    async moveTo(resModel, resId) {
        const conversationId = this.conversationId;
        const remoteNumber = this.state.data.remote_number;
        const source = this.state.data.record;
        const result = await this.orm.call(CONVERSATION_MODEL, "move_to", [conversationId, resModel, resId]);
        this.bus.trigger("CONVERSATION_UPDATED", { conversationId });
        // The messages left one chatter for the other: both are shown again.
        this._refreshChatter(source.model, source.id, { reset: true });
        this._refreshChatter(result.res_model, result.res_id, { reset: true });
        await this.open({ resModel: result.res_model, resId: result.res_id, remoteNumber });
        return result;
    }

    // Private ---------------------------------------------------------------

    /** Open again what the URL says the pane showed (after a reload of the page). */
    async _restoreFromUrl() {
        const saved = router.current[URL_KEY];
        const [resModel, resId, remoteNumber] = typeof saved === "string" ? saved.split(",") : [];
        if (!resModel || !parseInt(resId)) {
            return;
        }
        try {
            await this.open({ resModel, resId: parseInt(resId), remoteNumber: remoteNumber || false });
        } catch {
            // The record is gone or out of reach now: the pane stays closed.
            router.replaceState({ [URL_KEY]: undefined });
        }
    }

    /**
     * The open chatter of a record follows the pane: new messages appear,
     * and after a move the messages are loaded anew.
     */
    _refreshChatter(resModel, resId, { reset = false } = {}) {
        const thread = this.store?.Thread.get({ model: resModel, id: resId });
        // Only a chatter that shows its messages: fetching them reads their notifications.
        if (!thread?.isLoaded) {
            return;
        }
        if (reset) {
            thread.messages = [];
            thread.isLoaded = false;
        }
        thread.fetchNewMessages();
    }

    async _fetchMessages(conversationId, beforeId = false) {
        return this.orm.call(CONVERSATION_MODEL, "get_messages", [conversationId], {
            before_id: beforeId,
            limit: PAGE_SIZE,
        });
    }

    /** Messages of both lists, the second one's version winning, oldest first. */
    _merge(first, second) {
        const byId = new Map();
        for (const message of [...first, ...second]) {
            byId.set(message.id, message);
        }
        return [...byId.values()].sort((a, b) =>
            a.date === b.date ? a.id - b.id : a.date < b.date ? -1 : 1
        );
    }

    _concernsOpenPane(payload) {
        const data = this.state.data;
        if (!this.state.isOpen || !data) {
            return false;
        }
        if (payload.conversation_id && payload.conversation_id === this.conversationId) {
            return true;
        }
        return (
            payload.res_model === data.record.model &&
            payload.res_id === data.record.id &&
            payload.remote_number === data.remote_number
        );
    }

    /** A reply of the customer shown, routed to another record. */
    _landedElsewhere(payload) {
        const data = this.state.data;
        return (
            this.state.isOpen &&
            data &&
            payload.remote_number &&
            payload.remote_number === data.remote_number &&
            payload.conversation_id !== this.conversationId &&
            (payload.res_model !== data.record.model || payload.res_id !== data.record.id)
        );
    }

    async _onNotification(kind, payload) {
        try {
            await this._applyNotification(kind, payload);
        } catch (error) {
            // Out of reach meanwhile (merged, moved, rights changed): the next open shows what is.
            console.warn("Conversation pane: a notification could not be shown", error);
        }
    }

    async _applyNotification(kind, payload) {
        this.bus.trigger("CONVERSATION_UPDATED", { conversationId: payload.conversation_id, kind });
        if (kind === "inbound") {
            // The record's chatter, if open, shows the reply at once.
            this._refreshChatter(payload.res_model, payload.res_id);
        }
        if (kind === "inbound" && this._landedElsewhere(payload)) {
            const remoteNumber = this.state.data.remote_number;
            this.state.elsewhere = {
                resModel: payload.res_model,
                resId: payload.res_id,
                name: payload.record_name,
                reason: "",
            };
            // Why it went there, worded for this seller.
            const elsewhere = this.state.elsewhere;
            const target = await this.orm.call(CONVERSATION_MODEL, "get_pane_data", [payload.res_model, payload.res_id], {
                remote_number: remoteNumber,
            });
            if (this.state.elsewhere === elsewhere) {
                elsewhere.reason = target.conversation?.routing_reason || "";
            }
            return;
        }
        if (!this._concernsOpenPane(payload)) {
            return;
        }
        if (!this.conversationId) {
            // The first message of this conversation: load it all.
            await this.reload();
            return;
        }
        await this.refresh();
        if (kind === "inbound") {
            await this.markRead();
        }
    }
}

export const conversationPaneService = {
    dependencies: ["orm", "bus_service", "mail.store"],
    start(env, services) {
        const service = new ConversationPaneService(env, services);
        registry.category("main_components").add("crm_sms_conversation.ConversationPane", {
            Component: ConversationPaneContainer,
        });
        return service;
    },
};

registry.category("services").add("crm_sms_conversation.pane", conversationPaneService);
