import { patch } from "@web/core/utils/patch";
import { SmsWidget } from "@sms/components/sms_widget/fields_sms_widget";
import { countSmsSegments } from "../sms_segments";

/**
 * Odoo's SMS text field (templates, composer) counts like the conversation
 * pane: the GSM-7 extension characters ({ } [ ] ~ ^ | € \) take two
 * septets instead of forcing Unicode, a line break is one character, an emoji
 * two UTF-16 units; parts hold 153 GSM-7 septets or 67 UCS-2 units.
 */
patch(SmsWidget.prototype, {
    get smsCount() {
        return countSmsSegments(this._getValueForSmsCounts(this.props.record.data[this.props.name] || ""));
    },
    get encoding() {
        return this.smsCount.encoding;
    },
    get nbrChar() {
        return this.smsCount.length;
    },
    get nbrSMS() {
        return this.smsCount.segments;
    },
});
