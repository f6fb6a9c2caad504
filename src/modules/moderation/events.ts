/**
 * What the moderation module publishes (docs/events.md), in the transaction of the decision.
 * Declared ahead of the module so the notifications module can tell authors about actions.
 */
declare module '../../platform/events/index.js' {
  interface DomainEvents {
    /** A decision on content or an account, by a moderator or (automatic true) by the classifiers. */
    'moderation.actioned': {
      actionId: string;
      targetType: 'post' | 'comment' | 'video' | 'user' | 'chat_message';
      targetId: string;
      /** The author of the content, or the account itself. */
      authorId: string;
      action: 'hold' | 'remove' | 'restore' | 'warn' | 'age_restrict' | 'suspend';
      reason: string;
      automatic: boolean;
    };
  }
}

export {};
