import { registry } from "@web/core/registry";
import { rpc } from "@web/core/network/rpc";
import { session } from "@web/session";

const PANE = ".o_crm_sms_conversation_pane";
const ODOO_19 = session.server_version_info[0] >= 19;
// The contact form's last phone field: Odoo 19 has no mobile field.
const LAST_PHONE_FIELD = ODOO_19 ? "phone" : "mobile";

/** A customer's reply on a conversation, as the Simulator receives it (not through the pane). */
function simulateReply(conversationId, body) {
    return rpc("/web/dataset/call_kw/sms.conversation/simulate_inbound", {
        model: "sms.conversation",
        method: "simulate_inbound",
        args: [conversationId, body],
        kwargs: {},
    });
}

/** The id of the conversation the pane shows. */
function paneConversationId() {
    return parseInt(document.querySelector(PANE).getAttribute("data-conversation-id"));
}

/** Steps opening the conversation of ``name`` from "My Text Messages". */
function openFromListSteps(name) {
    return [
        {
            content: "The list of conversations is shown",
            trigger: `.o_list_view.o_crm_sms_conversation_list .o_data_row td[name=record_name]:contains('${name}')`,
        },
        {
            content: `Open the conversation of ${name}`,
            trigger: `.o_data_row td.o_data_cell[name=record_name]:contains('${name}')`,
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
            content: "The customer's picture is shown inline, and opens the file",
            trigger: `${PANE} .o_crm_sms_conversation_message_inbound:contains('Follow-up question 30') a.o_crm_sms_conversation_media_image[href^='/web/content/'] img[src^='/web/image/'][src*='access_token=']`,
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
            content: "Go to the last phone number: its SMS icon shows",
            trigger: `.o_form_view .o_field_widget[name=${LAST_PHONE_FIELD}] input`,
            run: "click",
        },
        {
            content: "Click the SMS icon next to that number",
            trigger: `.o_form_view .o_field_widget[name=${LAST_PHONE_FIELD}] .o_field_phone_sms`,
            run: "click",
        },
        {
            content: "The pane opens on the contact, for that number",
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
                await simulateReply(paneConversationId(), "Great, see you at 3pm");
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
        {
            content: "A message waiting for another attempt says so",
            trigger: "body",
            run() {
                document.querySelector(`${PANE} .o_crm_sms_conversation_close`).click();
            },
        },
        ...openFromListSteps("Tour Otto"),
        {
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('Are you there?') .o_crm_sms_conversation_state_retrying:contains('attempt 2 of 5')`,
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
        {
            content: "In the chatter, the customer's message shows as a text message, not an e-mail",
            trigger: ".o-mail-Chatter .o-mail-Message:contains('Can we meet on Monday?') .o_crm_sms_conversation_inbound_tag",
        },
        {
            trigger: ".o-mail-Chatter .o-mail-Message:contains('Can we meet on Monday?'):not(:has(.o-mail-Message-notification))",
        },
        {
            content: "Answer from the pane",
            trigger: `${PANE} .o_crm_sms_conversation_input`,
            run: "edit Monday 10am works",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_send:enabled`,
            run: "click",
        },
        {
            content: "The chatter shows the answer at once, without a reload",
            trigger: ".o-mail-Chatter .o-mail-Message:contains('Monday 10am works')",
        },
        {
            content: "The customer replies",
            trigger: `${PANE}[data-conversation-id]`,
            async run() {
                await simulateReply(paneConversationId(), "Perfect, see you then");
            },
        },
        {
            content: "The reply shows in the chatter too, live",
            trigger: ".o-mail-Chatter .o-mail-Message:contains('Perfect, see you then') .o_crm_sms_conversation_inbound_tag",
            timeout: 20000,
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
            content: "The activity popover offers to text, with a labelled button",
            trigger: ".o-mail-ActivityListPopoverItem:contains('Confirm the delivery date') .o_crm_sms_conversation_activity_text:contains('Text')",
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
            content: "Once sent, the pane offers to mark the activity done",
            trigger: `${PANE} .o_crm_sms_conversation_activity_done_offer:contains('Confirm the delivery date') .o_crm_sms_conversation_mark_done`,
            run: "click",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_activity_done`,
        },
        {
            content: "The activity left the chatter's planned activities",
            trigger: ".o-mail-Chatter:not(:has(.o-mail-Activity:contains('Confirm the delivery date')))",
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

/** Open the messaging menu and the notification of a customer's text message. */
function openNotificationSteps(recordName, body) {
    return [
        {
            content: "Open the messaging menu",
            trigger: ".o_menu_systray .o-mail-MessagingMenu-counter",
            run() {
                document.querySelector(".o_menu_systray i[aria-label='Messages']").click();
            },
        },
        {
            content: "Open the notification of the customer's text message",
            trigger: `.o-mail-NotificationItem:contains('${recordName}'):contains('${body}')`,
            run: "click",
        },
    ];
}

registry.category("web_tour.tours").add("crm_sms_conversation_tour_not_mine", {
    steps: () => [
        ...openNotificationSteps("Tour Vera trackers", "Which of you do I talk to?"),
        {
            content: "The lead is another seller's: My Text Messages opens, with the pane on it",
            trigger: ".o_list_view.o_crm_sms_conversation_list",
        },
        {
            trigger: `${PANE}[data-res-model='crm.lead'] .o_crm_sms_conversation_record_hidden:contains('Tour Vera trackers')`,
        },
        {
            content: "No access error was shown",
            trigger: "body:not(:has(.o_error_dialog))",
        },
        {
            content: "The pane says why the lead itself is not shown",
            trigger: `${PANE} .o_crm_sms_conversation_hidden_reason:contains('Other Seller')`,
        },
        {
            content: "The name is not a link, and Move is not offered",
            trigger: `${PANE}:not(:has(a.o_crm_sms_conversation_record)):not(:has(.o_crm_sms_conversation_move))`,
        },
        {
            content: "Both of our numbers spoke with the customer: each message says which one",
            trigger: `${PANE} .o_crm_sms_conversation_message:contains('Which of you do I talk to?') .o_crm_sms_conversation_our_number:contains('+14155550860')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_message:contains('Hello from your team line') .o_crm_sms_conversation_our_number:contains('+14155550871')`,
        },
        {
            content: "Answer anyway",
            trigger: `${PANE} .o_crm_sms_conversation_input`,
            run: "edit I am your contact from now on",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_send:enabled`,
            run: "click",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('I am your contact from now on')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_send:disabled`,
        },
        {
            content: "Reload the page",
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('I am your contact from now on')`,
            run() {
                window.location.reload();
            },
            expectUnloadPage: true,
        },
        {
            content: "After the reload, the pane is open on the same conversation",
            trigger: `${PANE}[data-res-model='crm.lead'] .o_crm_sms_conversation_record_hidden:contains('Tour Vera trackers')`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('I am your contact from now on')`,
        },
        {
            content: "The customer answers on the team line, where the seller wrote last",
            trigger: `${PANE}`,
            async run() {
                const [conversation] = await rpc("/web/dataset/call_kw/sms.conversation/search_read", {
                    model: "sms.conversation",
                    method: "search_read",
                    args: [[["number_id.number", "=", "+14155550871"]], ["id"]],
                    kwargs: {},
                });
                await simulateReply(conversation.id, "Thanks, talk soon");
            },
        },
        ...openNotificationSteps("Tour Vera trackers", "Thanks, talk soon"),
        {
            content: "The seller who wrote is told of the reply, though the lead is another seller's",
            trigger: `${PANE} .o_crm_sms_conversation_message_inbound:contains('Thanks, talk soon')`,
            timeout: 20000,
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_empty_states", {
    steps: () => [
        {
            content: "A contact without phone: open the pane from the chatter",
            trigger: ".o-mail-Chatter .o_crm_sms_conversation_chatter_text",
            run: "click",
        },
        {
            content: "The pane says the record has no phone, and nothing about messages",
            trigger: `${PANE} .o_crm_sms_conversation_no_phone`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_empty_text:contains('Add a phone number')`,
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_hidden_conversations", {
    steps: () => [
        {
            content: "A contact whose messages went through another team's number",
            trigger: ".o-mail-Chatter .o_crm_sms_conversation_chatter_text",
            run: "click",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_empty_text:contains('numbers you may not see')`,
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_elsewhere", {
    steps: () => [
        ...openFromListSteps("Walt Harper"),
        {
            trigger: `${PANE} .o_crm_sms_conversation_message_inbound:contains('First question')`,
        },
        {
            content: "The customer answers; the routing rules put it on the opportunity (elsewhere)",
            trigger: `${PANE}[data-conversation-id]`,
            async run() {
                await simulateReply(paneConversationId(), "About the opportunity");
            },
        },
        {
            content: "The open pane says where the reply went",
            trigger: `${PANE} .o_crm_sms_conversation_elsewhere:contains('Fleet for Harper')`,
            timeout: 20000,
        },
        {
            content: "... and why: the routing rule",
            trigger: `${PANE} .o_crm_sms_conversation_elsewhere_reason:contains('most recent conversation')`,
        },
        {
            content: "Show it",
            trigger: `${PANE} .o_crm_sms_conversation_open_elsewhere`,
            run: "click",
        },
        {
            trigger: `${PANE}[data-res-model='crm.lead'] .o_crm_sms_conversation_message_inbound:contains('About the opportunity')`,
        },
        {
            content: "Back to the contact",
            trigger: `${PANE} .o_crm_sms_conversation_related_toggle`,
            run: "click",
        },
        {
            trigger: ".o_crm_sms_conversation_related_item:contains('Walt Harper')",
            run: "click",
        },
        {
            trigger: `${PANE}[data-res-model='res.partner'] .o_crm_sms_conversation_message_inbound:contains('First question')`,
        },
        {
            content: "Simulate a reply from the contact's pane",
            trigger: `${PANE} .o_crm_sms_conversation_simulate`,
            run: "click",
        },
        {
            trigger: ".o_crm_sms_conversation_simulate_dialog .o_crm_sms_conversation_simulate_body",
            run: "edit Is it shipped?",
        },
        {
            trigger: ".o_crm_sms_conversation_simulate_dialog .o_crm_sms_conversation_simulate_send:enabled",
            run: "click",
        },
        {
            content: "The pane follows the reply to the record it landed on",
            trigger: `${PANE}[data-res-model='crm.lead'] .o_crm_sms_conversation_message_inbound:contains('Is it shipped?')`,
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_template_counter", {
    steps: () => [
        {
            content: "Create a template",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Write a template with template braces and an extension character",
            trigger: ".o_form_view .o_field_widget[name=body] textarea",
            run: "edit Hello {{ object.name }}, 10€ off",
        },
        {
            content: "Leave the field: the form takes the text",
            trigger: ".o_form_view .o_field_widget[name=name] input",
            run: "click",
        },
        {
            content: "Odoo's counter agrees with the pane: GSM-7, the braces count twice",
            trigger: ".o_sms_count:contains('1 SMS (GSM-7)')",
        },
        {
            // "37 characters, fits in 1 SMS" on Odoo 18, "37/160 | 1 SMS" on 19.
            trigger: ODOO_19 ? ".o_sms_count:contains('37/160')" : ".o_sms_count:contains('37 characters')",
        },
        {
            content: "Discard",
            trigger: ".o_form_button_cancel",
            run: "click",
        },
        {
            trigger: ".o_list_view",
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_opted_out", {
    steps: () => [
        {
            content: "A contact who replied STOP: open the pane from the chatter",
            trigger: ".o-mail-Chatter .o_crm_sms_conversation_chatter_text",
            run: "click",
        },
        {
            content: "The pane says so before the seller types",
            trigger: `${PANE} .o_crm_sms_conversation_opted_out:contains('opted out'):contains('STOP')`,
        },
        {
            content: "Nothing can be written nor sent",
            trigger: `${PANE} .o_crm_sms_conversation_input:disabled`,
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_send:disabled`,
        },
    ],
});

registry.category("web_tour.tours").add("crm_sms_conversation_tour_quiet_hours", {
    steps: () => [
        {
            content: "A customer in their quiet hours: open the pane from the chatter",
            trigger: ".o-mail-Chatter .o_crm_sms_conversation_chatter_text",
            run: "click",
        },
        {
            content: "The pane says it is night for the customer before the seller types",
            trigger: `${PANE} .o_crm_sms_conversation_quiet_hours:contains('for this customer (America/Los_Angeles)')`,
        },
        {
            content: "Write a text and send it",
            trigger: `${PANE} .o_crm_sms_conversation_input`,
            run: "edit See you tomorrow",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_send:enabled`,
            run: "click",
        },
        {
            content: "The seller is asked: send it when the quiet hours end",
            trigger: ".modal .modal-footer button:contains('their time')",
            run: "click",
        },
        {
            content: "Posted, and waiting for the customer's morning",
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('See you tomorrow') .o_crm_sms_conversation_state_quiet_hours`,
        },
        {
            content: "Another text, urgent this time",
            trigger: `${PANE} .o_crm_sms_conversation_input`,
            run: "edit Your order is at the door",
        },
        {
            trigger: `${PANE} .o_crm_sms_conversation_send:enabled`,
            run: "click",
        },
        {
            content: "Send it now anyway",
            trigger: ".modal .modal-footer button:contains('Send Now')",
            run: "click",
        },
        {
            content: "Sent at once: no quiet-hours wait on it",
            trigger: `${PANE} .o_crm_sms_conversation_message_outbound:contains('Your order is at the door'):not(:has(.o_crm_sms_conversation_state_quiet_hours))`,
        },
    ],
});
