// Type declarations for the untyped packages the text pipeline uses.
declare module 'vader-sentiment' {
  export const SentimentIntensityAnalyzer: {
    polarity_scores(text: string): { neg: number; neu: number; pos: number; compound: number };
  };
}
declare module 'unhomoglyph' {
  function unhomoglyph(text: string): string;
  export = unhomoglyph;
}
