/** What the users module publishes (docs/events.md), in the transaction of the change. */
declare module '../../platform/events/index.js' {
  interface DomainEvents {
    /** A private account became public: its pending follow requests are approved (graph module). */
    'account.went_public': { userId: string };
  }
}

export {};
