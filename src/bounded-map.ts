/**
 * A map that keeps roughly the `limit` most recently set entries, in two
 * generations: when the current one is full it becomes the old one and the
 * previous old one is dropped whole. Every operation is O(1). (Evicting the
 * oldest entry of one Map one at a time is not: V8 keeps deleted slots until
 * it rehashes, so `keys().next()` walks past every entry deleted so far.)
 */
export class BoundedMap<K, V> {
  private current = new Map<K, V>();
  private previous = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    const value = this.current.get(key);
    return value !== undefined ? value : this.previous.get(key);
  }

  set(key: K, value: V): void {
    this.current.set(key, value);
    if (this.current.size >= this.limit) {
      this.previous = this.current;
      this.current = new Map();
    }
  }

  delete(key: K): void {
    this.current.delete(key);
    this.previous.delete(key);
  }

  clear(): void {
    this.current.clear();
    this.previous.clear();
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}
