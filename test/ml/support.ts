/** A small, separable spam set made here (tests never read ../shared). */
export function spamData(n: number, seed = 1): { text: string; label: number }[] {
  const ham = ['great song', 'i love this melody', 'who is watching in 2026', 'the drummer is amazing', 'this reminds me of my childhood', 'beautiful voice', 'best chorus ever'];
  const spam = ['check out my channel', 'subscribe to my page for free gift cards', 'visit www.cheap-deals.com now', 'earn money fast click here', 'follow me and win an iphone', 'free promo codes at bit.ly/xyz'];
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out: { text: string; label: number }[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const pool = label ? spam : ham;
    const a = pool[Math.floor(rand() * pool.length)]!;
    const b = pool[Math.floor(rand() * pool.length)]!;
    out.push({ text: `${a}, ${b}${label ? '!!' : ''}`, label });
  }
  return out;
}

/** A small, separable offensive-language set made here. */
export function offensiveData(n: number, seed = 3): { text: string; label: number }[] {
  const fine = ['what a lovely morning', 'great game last night', 'thanks for sharing this', 'i agree with you', 'see you at the park', 'nice photo of the lake'];
  const rude = ['you are a stupid idiot', 'shut up you moron', 'what a pathetic loser', 'you disgusting liar', 'idiot, shut up', 'stupid pathetic clown'];
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out: { text: string; label: number }[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 3 === 0 ? 1 : 0;
    const pool = label ? rude : fine;
    out.push({ text: `${pool[Math.floor(rand() * pool.length)]!} ${pool[Math.floor(rand() * pool.length)]!}`, label });
  }
  return out;
}
