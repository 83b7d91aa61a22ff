// A small typed event emitter usable on both sides of the contract (no Node or DOM types).

export class Emitter<E extends object> {
  private readonly listeners = new Map<keyof E, Set<(payload: never) => void>>();
  private readonly anyListeners = new Set<(event: keyof E, payload: unknown) => void>();

  on<K extends keyof E>(event: K, listener: (payload: E[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  /** Every event, for transports that forward them all. */
  onAny(listener: (event: keyof E, payload: unknown) => void): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (p: E[K]) => void)(payload);
    for (const l of this.anyListeners) l(event, payload);
  }
}
