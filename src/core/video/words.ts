/**
 * English cardinal numbers spelled out exactly as Python's `num2words(n)` (lang "en") writes them, which
 * is what transformers' SmolVLM processor puts in a video prompt ("sixty-four frames").
 *
 * Hand-written because no npm package matches num2words: `n2words` (en-GB) and `written-number` agree
 * up to 999 ("one hundred and one") but drop num2words' comma from 1100 on ("one thousand, one
 * hundred"); `number-to-words` and `to-words` omit the "and". num2words builds the words by merging
 * (text, value) pairs, and the three merge cases below are its English rules.
 */

const ONES = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
  'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
/** Short-scale powers of a thousand that num2words names (it goes further; frame counts never do). */
const SCALES: [number, string][] = [
  [1e15, 'quadrillion'],
  [1e12, 'trillion'],
  [1e9, 'billion'],
  [1e6, 'million'],
  [1e3, 'thousand'],
];

type Pair = [text: string, value: number];

/** num2words' English `merge`: "twenty-one", "one hundred and one", "two thousand", "one thousand, one hundred". */
function merge([lText, lNum]: Pair, [rText, rNum]: Pair): Pair {
  if (lNum === 1 && rNum < 100) return [rText, rNum];
  if (lNum < 100 && lNum > rNum) return [`${lText}-${rText}`, lNum + rNum];
  if (lNum >= 100 && rNum < 100) return [`${lText} and ${rText}`, lNum + rNum];
  if (rNum > lNum) return [`${lText} ${rText}`, lNum * rNum];
  return [`${lText}, ${rText}`, lNum + rNum];
}

/** The pair for 0 < n < 1000, built the way num2words splits it (hundreds, then tens, then units). */
function underThousand(n: number): Pair {
  if (n < 20) return [ONES[n]!, n];
  if (n < 100) {
    const tens: Pair = [TENS[Math.floor(n / 10)]!, Math.floor(n / 10) * 10];
    return n % 10 === 0 ? tens : merge(tens, [ONES[n % 10]!, n % 10]);
  }
  const hundreds = merge([ONES[Math.floor(n / 100)]!, Math.floor(n / 100)], ['hundred', 100]);
  return n % 100 === 0 ? hundreds : merge(hundreds, underThousand(n % 100));
}

function pairOf(n: number): Pair {
  for (const [scale, name] of SCALES) {
    if (n < scale) continue;
    const high = Math.floor(n / scale);
    const low = n % scale;
    const named = merge(pairOf(high), [name, scale]);
    return low === 0 ? named : merge(named, pairOf(low));
  }
  return underThousand(n);
}

/** `num2words(n)` for a non-negative integer below 10^18: 64 -> "sixty-four", 101 -> "one hundred and one". */
export function numberToWords(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || n >= 1e18) throw new RangeError(`numberToWords: ${n} is not a non-negative integer below 10^18`);
  return n === 0 ? ONES[0]! : pairOf(n)[0];
}
