/**
 * How many SMS segments a text costs, as the networks count them.
 *
 * GSM-7 (the default alphabet): 160 septets in one SMS, 153 per part once
 * split; the extension characters (^{}\[~]|€ and form feed) take 2 septets
 * and never straddle two parts. Any other character forces UCS-2: 70 UTF-16
 * code units in one SMS, 67 per part (a surrogate pair is never split).
 */

const GSM7_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION = "^{}\\[~]|€\f";

const GSM7_BASIC_SET = new Set(GSM7_BASIC);
const GSM7_EXTENSION_SET = new Set(GSM7_EXTENSION);

export const GSM7_SINGLE = 160;
export const GSM7_PART = 153;
export const UCS2_SINGLE = 70;
export const UCS2_PART = 67;

/** Parts needed for ``sizes`` (the size of each character) at ``perPart`` units a part. */
function countParts(sizes, perPart) {
    let parts = 1;
    let used = 0;
    for (const size of sizes) {
        if (used + size > perPart) {
            parts++;
            used = 0;
        }
        used += size;
    }
    return parts;
}

/**
 * @param {string} text
 * @returns {{
 *   encoding: "GSM-7"|"UCS-2",
 *   length: number,        // septets (GSM-7) or UTF-16 code units (UCS-2)
 *   characters: number,    // characters as the user sees them (code points)
 *   segments: number,      // 0 for an empty text
 *   perSegment: number,    // capacity of one segment at the current size
 *   remaining: number,     // units left before one more segment is needed
 *   unicodeCharacters: string[], // the characters forcing UCS-2, in order, once each
 * }}
 */
export function countSmsSegments(text) {
    text = text || "";
    const chars = Array.from(text); // code points: a surrogate pair is one character
    const unicodeCharacters = [];
    const septets = [];
    for (const char of chars) {
        if (GSM7_BASIC_SET.has(char)) {
            septets.push(1);
        } else if (GSM7_EXTENSION_SET.has(char)) {
            septets.push(2);
        } else if (!unicodeCharacters.includes(char)) {
            unicodeCharacters.push(char);
        }
    }
    const isGsm = unicodeCharacters.length === 0;
    const sizes = isGsm ? septets : chars.map((char) => char.length);
    const length = sizes.reduce((total, size) => total + size, 0);
    const single = isGsm ? GSM7_SINGLE : UCS2_SINGLE;
    const part = isGsm ? GSM7_PART : UCS2_PART;
    let segments = 0;
    if (length > 0) {
        segments = length <= single ? 1 : countParts(sizes, part);
    }
    const perSegment = segments > 1 ? part : single;
    const capacity = segments > 1 ? segments * part : single;
    return {
        encoding: isGsm ? "GSM-7" : "UCS-2",
        length,
        characters: chars.length,
        segments,
        perSegment,
        remaining: Math.max(capacity - length, 0),
        unicodeCharacters,
    };
}
