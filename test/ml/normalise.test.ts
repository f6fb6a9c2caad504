import { describe, expect, it } from 'vitest';
import { profanityHits, spamHits, vaderClass, vaderScores } from '../../src/ml/text/lexicon.js';
import { foldText, normalise, tokenize } from '../../src/ml/text/normalise.js';
import { precheckHolds } from '../../src/ml/text/precheck.js';

describe('normaliser', () => {
  it('undoes spacing, leetspeak, stretched letters and homoglyphs', () => {
    expect(normalise('f u c k you')).toBe('fuck you');
    expect(normalise('F.U.C.K off')).toBe('fuck off');
    expect(normalise('sh1t')).toBe('shit');
    expect(normalise('shiiiit')).toBe('shit');
    expect(normalise('$h!t')).toBe('shit');
    // Cyrillic ѕ and і look like s and i.
    expect(normalise('\u0455h\u0456t')).toBe('shit');
    expect(normalise('Ｆｕｃｋ')).toBe('fuck');
    expect(normalise('fück')).toBe('fuck');
  });

  it('leaves ordinary text alone', () => {
    expect(normalise('I am at home with 10 cats')).toBe('i am at home with 10 cats');
    expect(normalise('good  morning')).toBe('good morning');
    expect(normalise('a b')).toBe('a b');
    expect(normalise('cool')).toBe('cool');
  });

  it('turns links and mentions into placeholder tokens', () => {
    expect(tokenize(normalise('see https://spam.example/x and @bob'))).toEqual(['see', 'xxurl', 'and', 'xxuser']);
    expect(foldText('visit www.cheap-stuff.com')).toContain('xxurl');
  });

  it('makes the profanity lexicon catch the evasion variants', () => {
    for (const t of ['f u c k you', 'sh1t', 'shiiiit', 'you are a \u0455h\u0456t']) expect(profanityHits(t), t).toBeGreaterThan(0);
    for (const t of ['what a lovely day', 'I passed the exam', 'Scunthorpe is a town']) expect(profanityHits(t), t).toBe(0);
  });

  it('pre-check holds text with several distinct profane terms only', () => {
    expect(precheckHolds('f u c k you, you sh1t', 2)).toBe(true);
    expect(precheckHolds('this is fucking great', 2)).toBe(false);
    expect(precheckHolds('this is fucking great', 1)).toBe(true);
    expect(precheckHolds('hello there', 1)).toBe(false);
  });

  it('spam phrases and VADER sentiment', () => {
    expect(spamHits(normalise('Check out my channel and subscribe! www.x.com'))).toBeGreaterThanOrEqual(3);
    expect(spamHits(normalise('great song, reminds me of summer'))).toBe(0);
    expect(vaderClass(vaderScores('I love this, it is wonderful!').compound)).toBe(2);
    expect(vaderClass(vaderScores('This is terrible and I hate it').compound)).toBe(0);
    expect(vaderClass(vaderScores('The meeting is on Tuesday').compound)).toBe(1);
  });
});
