import {
    Component,
    onMounted,
    onPatched,
    onWillStart,
    onWillUnmount,
    useRef,
    useState,
} from "@odoo/owl";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";
import { user } from "@web/core/user";
import { useService } from "@web/core/utils/hooks";
import { ConfirmationDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { FormViewDialog } from "@web/views/view_dialogs/form_view_dialog";
import { countSmsSegments } from "../sms_segments";
import { MoveConversationDialog } from "./move_dialog";
import { SimulateReplyDialog } from "./simulate_reply_dialog";

const { DateTime } = luxon;

export const DELIVERY_STATES = {
    queued: { label: _t("Queued"), icon: "fa-clock-o" },
    sent: { label: _t("Sent"), icon: "fa-check" },
    delivered: { label: _t("Delivered"), icon: "fa-check-circle" },
    failed: { label: _t("Failed"), icon: "fa-exclamation-circle" },
};

/** The conversation of one record with one customer number. */
export class ConversationPane extends Component {
    static template = "crm_sms_conversation.ConversationPane";
    static components = { Dropdown, DropdownItem };
    static props = {};

    setup() {
        this.pane = useService("crm_sms_conversation.pane");
        this.action = useService("action");
        this.orm = useService("orm");
        this.dialog = useService("dialog");
        this.notification = useService("notification");
        this.state = useState(this.pane.state);
        this.composer = useState({
            body: this.pane.getDraft(),
            numberId: this.state.data.default_number_id || this.state.data.numbers[0]?.id || false,
            templateId: false,
            expandedFailures: {},
        });
        this.canCreateTemplate = false;
        this.rootRef = useRef("root");
        this.threadRef = useRef("thread");
        this.textareaRef = useRef("textarea");
        this.scroll = { stickToBottom: true, keepFromBottom: null, lastCount: 0 };
        onWillStart(async () => {
            this.canCreateTemplate = await user.checkAccessRight("sms.template", "create");
        });
        onMounted(() => {
            const navbar = document.querySelector(".o_main_navbar");
            if (navbar && this.rootRef.el) {
                const top = Math.max(navbar.getBoundingClientRect().bottom, 0);
                this.rootRef.el.style.setProperty("--o-crm-sms-conversation-top", `${top}px`);
            }
            this.scrollToBottom();
            this.fillThread();
            if (this.state.focusComposer && this.textareaRef.el) {
                this.textareaRef.el.focus();
            }
        });
        onPatched(() => {
            this.restoreScroll();
            this.fillThread();
        });
        onWillUnmount(() => this.pane.setDraft(this.composer.body, this.draftKey));
        this.draftKey = this.pane.draftKey;
    }

    get data() {
        return this.state.data;
    }

    get recordTypeLabel() {
        return this.data.record.type_label;
    }

    get phoneOptions() {
        const phones = [...(this.data.phones || [])];
        const remote = this.data.remote_number;
        if (remote && !phones.some((phone) => phone.number === remote)) {
            phones.push({ field: false, label: _t("Conversation"), number: remote, display: remote });
        }
        return phones;
    }

    get counter() {
        return countSmsSegments(this.composer.body);
    }

    get counterLabel() {
        const counter = this.counter;
        return _t("%(length)s / %(perSegment)s · %(segments)s SMS (%(encoding)s)", {
            length: counter.length,
            perSegment: counter.segments > 1 ? counter.segments * counter.perSegment : counter.perSegment,
            segments: counter.segments,
            encoding: counter.encoding,
        });
    }

    get unicodeWarning() {
        const chars = this.counter.unicodeCharacters;
        if (!chars.length) {
            return "";
        }
        const shown = chars.slice(0, 5).map((char) => `“${char}”`).join(", ");
        if (chars.length === 1) {
            return _t(
                "The character %(chars)s is not in the GSM-7 alphabet: the message is sent as Unicode (UCS-2), 70 characters per SMS instead of 160.",
                { chars: shown }
            );
        }
        return _t(
            "The characters %(chars)s are not in the GSM-7 alphabet: the message is sent as Unicode (UCS-2), 70 characters per SMS instead of 160.",
            { chars: shown }
        );
    }

    get canSend() {
        return (
            !this.state.sending &&
            Boolean(this.composer.body.trim()) &&
            Boolean(this.composer.numberId) &&
            Boolean(this.data.remote_number) &&
            !this.data.opted_out
        );
    }

    // Messages --------------------------------------------------------------

    formatDate(message) {
        const date = deserializeDateTime(message.date);
        if (date.hasSame(DateTime.local(), "day")) {
            return date.toLocaleString(DateTime.TIME_SIMPLE);
        }
        return formatDateTime(date, { showSeconds: false });
    }

    deliveryState(message) {
        return DELIVERY_STATES[message.state] || null;
    }

    /** "Retrying (attempt 3 of 5, next at 14:55)" for a message waiting for another attempt. */
    quietHoursLabel(message) {
        const time = deserializeDateTime(message.quiet_hours_until).toLocaleString(DateTime.DATETIME_SHORT);
        return _t("Waiting for the customer's quiet hours to end (sent at %(time)s)", { time });
    }

    retryLabel(message) {
        if (!message.retry) {
            return "";
        }
        const next = deserializeDateTime(message.retry.next_date).toLocaleString(DateTime.TIME_SIMPLE);
        return _t("Retrying (attempt %(attempt)s of %(max)s, next at %(time)s)", {
            attempt: message.retry.attempt,
            max: message.retry.max,
            time: next,
        });
    }

    /** Several of our numbers in the thread: each message says which one. */
    get showNumbers() {
        return new Set(this.state.messages.map((message) => message.number).filter(Boolean)).size > 1;
    }

    /** What the thread says when it has no message. */
    get emptyState() {
        if (!this.data.remote_number) {
            return {
                icon: "fa-phone",
                text: _t("Add a phone number to this record to text the customer."),
            };
        }
        if (this.data.hidden_conversation_count) {
            return {
                icon: "fa-lock",
                text: _t(
                    "This record has text messages on numbers you may not see: ask their sellers, or your manager."
                ),
            };
        }
        return { icon: "fa-comments-o", text: _t("No text message with this number yet.") };
    }

    failureTooltip(message) {
        return message.failure_reason || _t("The message could not be delivered.");
    }

    toggleFailure(message) {
        this.composer.expandedFailures[message.id] = !this.composer.expandedFailures[message.id];
    }

    isFailureExpanded(message) {
        return Boolean(this.composer.expandedFailures[message.id]);
    }

    // Scrolling -------------------------------------------------------------

    scrollToBottom() {
        const el = this.threadRef.el;
        if (el) {
            el.scrollTop = el.scrollHeight;
        }
        this.scroll.lastCount = this.state.messages.length;
    }

    restoreScroll() {
        const el = this.threadRef.el;
        if (!el) {
            return;
        }
        if (this.scroll.keepFromBottom !== null) {
            // Older messages were added on top: keep the same messages in view.
            el.scrollTop = el.scrollHeight - this.scroll.keepFromBottom;
            this.scroll.keepFromBottom = null;
        } else if (this.state.messages.length !== this.scroll.lastCount && this.scroll.stickToBottom) {
            el.scrollTop = el.scrollHeight;
        }
        this.scroll.lastCount = this.state.messages.length;
    }

    /** Load older messages while the thread does not fill its space: nothing to scroll yet. */
    fillThread() {
        const el = this.threadRef.el;
        if (el && this.state.hasMore && !this.state.loadingOlder && el.scrollHeight <= el.clientHeight) {
            this.loadOlder();
        }
    }

    async onThreadScroll() {
        const el = this.threadRef.el;
        this.scroll.stickToBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        if (el.scrollTop < 60 && this.state.hasMore && !this.state.loadingOlder) {
            await this.loadOlder();
        }
    }

    async loadOlder() {
        const el = this.threadRef.el;
        // Set before the messages come: the pane is patched as soon as they do.
        this.scroll.keepFromBottom = el ? el.scrollHeight - el.scrollTop : null;
        const loaded = await this.pane.loadOlder();
        if (!loaded) {
            this.scroll.keepFromBottom = null;
        }
    }

    // Header ----------------------------------------------------------------

    openRecord() {
        if (!this.data.record.readable) {
            return;
        }
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: this.data.record.model,
            res_id: this.data.record.id,
            views: [[false, "form"]],
        });
    }

    onChangeRemoteNumber(ev) {
        this.pane.open({
            resModel: this.data.record.model,
            resId: this.data.record.id,
            remoteNumber: ev.target.value,
        });
    }

    openRelated(related) {
        this.pane.open({
            resModel: related.model,
            resId: related.id,
            remoteNumber: this.data.remote_number,
        });
    }

    openMoveDialog() {
        this.dialog.add(MoveConversationDialog, {
            conversationLabel: this.data.remote_number,
            currentRecord: this.data.record,
            search: (query) => this.pane.searchMoveTargets(query),
            confirm: async (target) => {
                await this.pane.moveTo(target.model, target.id);
                this.notification.add(
                    _t("The conversation now belongs to %(record)s.", { record: target.name }),
                    { type: "success" }
                );
            },
        });
    }

    openElsewhere() {
        this.pane.openElsewhere();
    }

    markActivityDone() {
        return this.pane.markActivityDone();
    }

    async openConversationForm() {
        // The same details as the list's (i) button: the server's action.
        const action = await this.orm.call("sms.conversation", "action_view_details", [[this.data.conversation.id]]);
        await this.action.doAction(action);
    }

    /**
     * Address of a file of a message: its thumbnail, the file itself, or a
     * download; with the access token the pane was given.
     */
    attachmentUrl(attachment, { thumbnail = false, download = false } = {}) {
        const path = thumbnail ? `/web/image/${attachment.id}/240x240` : `/web/content/${attachment.id}`;
        const params = new URLSearchParams();
        if (attachment.access_token) {
            params.set("access_token", attachment.access_token);
        }
        if (download) {
            params.set("download", "true");
        }
        const query = params.toString();
        return query ? `${path}?${query}` : path;
    }

    downloadingLabel(message) {
        return _t("Downloading %s file(s)…", message.downloading);
    }

    openSimulateReplyDialog() {
        this.dialog.add(SimulateReplyDialog, {
            remoteNumber: this.data.remote_number,
            confirm: (body, withPicture) => this.pane.simulateInbound(body, withPicture),
        });
    }

    close() {
        this.pane.close();
    }

    // Composer --------------------------------------------------------------

    onChangeNumber(ev) {
        this.composer.numberId = parseInt(ev.target.value) || false;
    }

    async onChangeTemplate(ev) {
        const templateId = parseInt(ev.target.value) || false;
        this.composer.templateId = templateId;
        if (!templateId) {
            return;
        }
        const body = await this.pane.renderTemplate(templateId);
        this.composer.body = body || "";
        this.textareaRef.el?.focus();
    }

    manageTemplates() {
        this.action.doAction({
            type: "ir.actions.act_window",
            name: _t("SMS Templates"),
            res_model: "sms.template",
            views: [
                [false, "list"],
                [false, "form"],
            ],
            domain: [["model", "=", this.data.record.model]],
            context: { default_model_id: this.data.template_model_id },
        });
    }

    createTemplate() {
        this.dialog.add(FormViewDialog, {
            resModel: "sms.template",
            title: _t("New SMS Template"),
            context: {
                default_model_id: this.data.template_model_id,
                default_body: this.composer.body || "",
            },
            onRecordSaved: async (record) => {
                await this.pane.reload();
                // What is written is the new template: the dropdown says so.
                this.composer.templateId = record.resId;
                this.notification.add(_t("Template “%(name)s” created.", { name: record.data.name }), {
                    type: "success",
                });
            },
        });
    }

    onInput(ev) {
        this.composer.body = ev.target.value;
    }

    onKeydown(ev) {
        if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
            ev.preventDefault();
            this.send();
        }
    }

    async send(quietHours = false) {
        if (!this.canSend) {
            return;
        }
        const { body, templateId } = this.composer;
        this.scroll.stickToBottom = true;
        this.composer.body = "";
        this.composer.templateId = false;
        let result;
        try {
            result = await this.pane.send({ numberId: this.composer.numberId, body, quietHours });
        } catch (error) {
            // Not sent: the seller gets the text back, to correct it.
            Object.assign(this.composer, { body, templateId });
            throw error;
        }
        if (result?.quiet_hours) {
            // Not sent yet: the text stays in the composer until the seller chooses.
            Object.assign(this.composer, { body, templateId });
            this.askQuietHours(result.quiet_hours);
            return;
        }
        this.textareaRef.el?.focus();
    }

    /** The customer's night: send now anyway, or when their quiet hours end. */
    askQuietHours(notice) {
        this.dialog.add(ConfirmationDialog, {
            title: _t("Quiet hours"),
            body: notice.message,
            confirmLabel: _t("Send Now"),
            confirm: () => this.send("now"),
            cancelLabel: _t("Send at %(time)s their time", { time: notice.local_until }),
            cancel: () => this.send("later"),
            dismiss: () => this.textareaRef.el?.focus(),
        });
    }
}

/** Always mounted: shows the pane when the service says it is open. */
export class ConversationPaneContainer extends Component {
    static template = "crm_sms_conversation.ConversationPaneContainer";
    static components = { ConversationPane };
    static props = {};

    setup() {
        this.state = useState(useService("crm_sms_conversation.pane").state);
    }
}
