import { registry } from "@web/core/registry";
import { rpc } from "@web/core/network/rpc";

const PANE = ".o_crm_sms_conversation_pane";

/** Steps opening the conversation of ``name`` from "My Text Messages". */
function openFromListSteps(name) {
    return [
        {
            content: "The list of conversations is shown",
            trigger: `.o_list_view.o_crm_sms_conversation_list .o_data_row:contains('${name}')`,
        },
        {
            content: `Open the conversation of ${name}`,
            trigger: `.o_data_row:contains('${name}') td.o_data_cell[name=record_name]`,
            run: "click",
        },
        {
            content: "The pane shows the conversation",
            trigger: `${PANE} .o_crm_sms_conversation_record:contains('${name}')`,
        },
        {
            content: "The list is still there: no form view was opened",
            trigger: ".o_list_view .o_data_row.o_crm_sms_conversation_row_open",
        },
    ];
}

registry.category("web_tour.tours").add("crm_sms_conversation_tour_list", {
    steps: () => [
        ...openFromListSteps("Tour Lucy"),
        {
            content: "The latest messages are shown",
            trigger: `${PANE} .o_crm_sms_conversation_message_inbound:contains('Follow-up question 30')`,
        },
        {
            content: "Older ones are not loaded yet",
            trigger: `${PANE}:not(:has(.o_crm_sms_conversation_message:contains('Do you deliver to Oakland?')))`,
        },
        {
            content: "Scroll up to the top of the conversation",
            trigger: `${PANE} .o_crm_sms_conversation_load_older`,
            run() {
                document.querySelector(`${PANE} .o_crm_sms_conversation_thread`).scrollTop = 0;
            },
        },
        {
            content: "The customer's first message is loaded, with its author",
            trigger: `${PANE} .o_crm_sms_conversation_message_inbound:contains('Do you deliver to Oakland?') .o_crm_sms_conversation_author:contains('Tour Lucy')`,
        },
        {
            content: "The whole history is loaded",
            trigger: `${PANE}:not(:has(.o_crm_sms_conversation_load_older))`,
        },
        {
            content: "Our earlier answer is shown with its delivery state",
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('Yes we do') .o_crm_sms_conversation_state_delivered`,
        },
        {
            content: "Type a message with an extension character",
            trigger: `${PANE} .o_crm_sms_conversation_input`,
            run: "edit Price: 10€",
        },
        {
            content: "€ counts as two GSM-7 septets",
            trigger: `${PANE} .o_crm_sms_conversation_counter:contains('11 / 160'):contains('GSM-7')`,
        },
        {
            content: "Type a character outside GSM-7",
            trigger: `${PANE} .o_crm_sms_conversation_input`,
            run: "edit Thanks ✓",
        },
        {
            content: "The message switches to UCS-2, and the pane names the character",
            trigger: `${PANE} .o_crm_sms_conversation_unicode_warning:contains('✓')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_counter:contains('8 / 70'):contains('UCS-2')`,
        },
        {
            content: "Close the pane",
            trigger: `${PANE} .o_crm_sms_conversation_close`,
            run: "click",
        },
        {
            content: "The pane is closed, the list stays",
            trigger: `.o_list_view:not(:has(.o_crm_sms_conversation_row_open))`,
        },
        {
            trigger: `body:not(:has(${PANE}))`,
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_phone_template", {
    steps: () => [
        {
            content: "Go to the mobile number: its SMS icon shows",
            trigger: ".o_form_view .o_field_widget[name=mobile] input",
            run: "click",
        },
        {
            content: "Click the SMS icon next to the mobile number",
            trigger: ".o_form_view .o_field_widget[name=mobile] .o_field_phone_sms",
            run: "click",
        },
        {
            content: "The pane opens on the contact, for the mobile number",
            trigger: `${PANE} .o_crm_sms_conversation_record:contains('Tour Max')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_remote_number:value('+14155550862')`,
        },
        {
            content: "The form is still shown",
            trigger: ".o_form_view .o_field_widget[name=name]",
        },
        {
            content: "Pick a template",
            trigger: `${PANE} select.o_crm_sms_conversation_template`,
            run: "selectByLabel Tour Follow-up",
        },
        {
            content: "The template is rendered for the contact",
            trigger: `${PANE} .o_crm_sms_conversation_input:value('Hello Tour Max, your trackers are ready.')`,
        },
        {
            content: "Send it",
            trigger: `${PANE} .o_crm_sms_conversation_send:enabled`,
            run: "click",
        },
        {
            content: "The message is shown, queued",
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('Hello Tour Max, your trackers are ready.') .o_crm_sms_conversation_state_queued`,
        },
        {
            content: "The composer is empty again",
            trigger: `${PANE} .o_crm_sms_conversation_send:disabled`,
        },
        {
            content: "Write a second message",
            trigger: `${PANE} .o_crm_sms_conversation_input`,
            run: "edit See you on Friday",
        },
        {
            content: "Enter sends it",
            trigger: `${PANE} .o_crm_sms_conversation_input`,
            run: "press Enter",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('See you on Friday')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_send:disabled`,
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_inbound", {
    steps: () => [
        ...openFromListSteps("Tour Nina"),
        {
            content: "The first message is shown",
            trigger: `${PANE} .o_crm_sms_conversation_message_inbound:contains('Is the demo still on?')`,
        },
        {
            content: "The customer replies (simulated)",
            trigger: `${PANE}[data-conversation-id]`,
            async run() {
                const conversationId = parseInt(
                    document.querySelector(PANE).getAttribute("data-conversation-id")
                );
                await rpc("/web/dataset/call_kw/sms.conversation/simulate_inbound", {
                    model: "sms.conversation",
                    method: "simulate_inbound",
                    args: [conversationId, "Great, see you at 3pm"],
                    kwargs: {},
                });
            },
        },
        {
            content: "The reply shows up in the open pane, without reloading",
            trigger: `${PANE} .o_crm_sms_conversation_message_inbound:contains('Great, see you at 3pm')`,
            timeout: 20000,
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_failure", {
    steps: () => [
        ...openFromListSteps("Tour Oscar"),
        {
            content: "The message is marked failed",
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('Your quote is ready') .o_crm_sms_conversation_state_failed`,
            run: "hover",
        },
        {
            content: "Hovering tells why and what to do",
            trigger: ".o-tooltip:contains('E.164')",
        },
        {
            content: "A click shows the reason too",
            trigger: `${PANE} .o_crm_sms_conversation_state_failed`,
            run: "click",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_failure_detail:contains('E.164')`,
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_move", {
    steps: () => [
        ...openFromListSteps("Tour Paula"),
        {
            trigger: `${PANE} .o_crm_sms_conversation_message_inbound:contains('About the tracker quote')`,
        },
        {
            content: "Move the conversation",
            trigger: `${PANE} .o_crm_sms_conversation_move`,
            run: "click",
        },
        {
            content: "Search the opportunity",
            trigger: ".o_crm_sms_conversation_move_dialog .o_crm_sms_conversation_move_search",
            run: "edit Tour Paula trackers",
        },
        {
            content: "Pick it",
            trigger: ".o_crm_sms_conversation_move_dialog .o_crm_sms_conversation_move_result:contains('Tour Paula trackers')",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".o_crm_sms_conversation_move_dialog .o_crm_sms_conversation_move_confirm:enabled",
            run: "click",
        },
        {
            content: "The pane now shows the opportunity, with the messages",
            trigger: `${PANE}[data-res-model='crm.lead'] .o_crm_sms_conversation_record:contains('Tour Paula trackers')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_message_inbound:contains('About the tracker quote')`,
        },
        {
            trigger: "body:not(:has(.o_crm_sms_conversation_move_dialog))",
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_notification", {
    steps: () => [
        {
            content: "Open the messaging menu",
            trigger: ".o_menu_systray .o-mail-MessagingMenu-counter",
            run() {
                document.querySelector(".o_menu_systray i[aria-label='Messages']").click();
            },
        },
        {
            content: "Open the notification of the customer's text message",
            trigger: ".o-mail-NotificationItem:contains('Tour Quinn trackers'):contains('Can we meet on Monday?')",
            run: "click",
        },
        {
            content: "The opportunity opens",
            trigger: ".o_form_view .o_field_widget[name=name] :value('Tour Quinn trackers')",
        },
        {
            content: "The pane shows the conversation, on the customer's number",
            trigger: `${PANE}[data-res-model='crm.lead'] .o_crm_sms_conversation_record:contains('Tour Quinn trackers')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_remote_number:value('+14155550866')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_message_inbound:contains('Can we meet on Monday?')`,
        },
        {
            content: "No chat window on top of the form",
            trigger: "body:not(:has(.o-mail-ChatWindow))",
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_activity", {
    steps: () => [
        {
            content: "The opportunity's card shows its activity",
            trigger: ".o_kanban_record:contains('Tour Rita trackers') .o-mail-ActivityButton",
            run: "click",
        },
        {
            content: "The activity popover offers to text",
            trigger: ".o-mail-ActivityListPopoverItem:contains('Confirm the delivery date') .o_crm_sms_conversation_activity_text",
            run: "click",
        },
        {
            content: "The pane opens on the opportunity, ready to write",
            trigger: `${PANE}[data-res-model='crm.lead'] .o_crm_sms_conversation_record:contains('Tour Rita trackers')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_remote_number:value('+14155550867')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_input:focus`,
        },
        {
            content: "The popover is closed",
            trigger: "body:not(:has(.o-mail-ActivityListPopover))",
        },
        {
            content: "Close the pane",
            trigger: `${PANE} .o_crm_sms_conversation_close`,
            run: "click",
        },
        {
            trigger: `body:not(:has(${PANE}))`,
        },
        {
            content: "Open the opportunity",
            trigger: ".o_kanban_record:contains('Tour Rita trackers')",
            run: "click",
        },
        {
            content: "The chatter lists the Text Message activity, with a Text action",
            trigger: ".o-mail-Activity:contains('Confirm the delivery date') .o_crm_sms_conversation_activity_text",
            run: "click",
        },
        {
            content: "The pane opens, ready to write",
            trigger: `${PANE}[data-res-model='crm.lead'] .o_crm_sms_conversation_record:contains('Tour Rita trackers')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_input:focus`,
        },
        {
            content: "Write and send",
            trigger: `${PANE} .o_crm_sms_conversation_input`,
            run: "edit Your trackers ship on Thursday",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_send:enabled`,
            run: "click",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('Your trackers ship on Thursday')`,
        },
        {
            content: "Close the pane",
            trigger: `${PANE} .o_crm_sms_conversation_close`,
            run: "click",
        },
        {
            trigger: `body:not(:has(${PANE}))`,
        },
        {
            content: "The chatter's Text message button opens the pane too",
            trigger: ".o-mail-Chatter .o_crm_sms_conversation_chatter_text",
            run: "click",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('Your trackers ship on Thursday')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_input:focus`,
        },
    ],
});
