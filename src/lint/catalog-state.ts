import type { ObjectKind } from './object-graph';

/** An object present in the simulated database; createdBy 0 = no migration created it. */
export interface LiveObject {
  key: string;
  kind: ObjectKind;
  name: string;
  schema: string;
  createdBy: number;
  parent?: string;
  columnsKnown?: boolean;
}

/** An object and its place in the catalogue's order (the order objects were first added). */
export interface Slot {
  entry: LiveObject;
  order: number;
}

/** The slot each key had before a change began (undefined: the key was absent). */
export type Changes = Map<string, Slot | undefined>;

/**
 * The simulated catalogue the dependency walk applies migrations to. Objects are kept in the
 * order they were added (like a Map), indexed by parent and by schema so that dropping or
 * renaming one touches its dependants only, and changes can be recorded and undone: the walk
 * tries each rollback on the live catalogue and undoes it, instead of copying the catalogue
 * for every migration (which made the walk quadratic in the plan's size).
 */
export class CatalogState {
  private readonly slots = new Map<string, Slot>();
  private readonly children = new Map<string, Set<string>>();
  private readonly schemas = new Map<string, Set<string>>();
  private next = 0;
  private changes?: Changes;

  get(key: string): LiveObject | undefined {
    return this.slots.get(key)?.entry;
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  /** The object with its place in the order; undefined when absent. */
  slot(key: string): Slot | undefined {
    return this.slots.get(key);
  }

  set(key: string, entry: LiveObject): void {
    const slot = this.slots.get(key);
    this.remember(key, slot);
    this.place(key, { entry, order: slot?.order ?? this.next++ });
  }

  delete(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    this.remember(key, slot);
    this.unplace(key, slot);
  }

  /** Keys of the objects whose parent is `key`, in the catalogue's order. */
  childrenOf(key: string): string[] {
    return this.ordered(this.children.get(key));
  }

  /** Keys of the objects in schema `name`, in the catalogue's order. */
  inSchema(name: string): string[] {
    return this.ordered(this.schemas.get(name));
  }

  /** Records, from now on, the slot each changed key had before its first change. */
  record(): Changes {
    this.changes = new Map();
    return this.changes;
  }

  /** Stops recording and puts back every key `changes` recorded, in its place. */
  undo(changes: Changes): void {
    if (this.changes === changes) this.changes = undefined;
    for (const [key, slot] of changes) {
      const current = this.slots.get(key);
      if (current) this.unplace(key, current);
      if (slot) this.place(key, slot);
    }
  }

  /** Stops recording. */
  stopRecording(): void {
    this.changes = undefined;
  }

  private remember(key: string, slot: Slot | undefined): void {
    if (this.changes && !this.changes.has(key)) this.changes.set(key, slot);
  }

  private ordered(keys: Set<string> | undefined): string[] {
    if (!keys?.size) return [];
    return [...keys].sort((a, b) => this.slots.get(a)!.order - this.slots.get(b)!.order);
  }

  private place(key: string, slot: Slot): void {
    const current = this.slots.get(key);
    if (current) this.unindex(key, current.entry);
    this.slots.set(key, slot);
    if (slot.entry.parent) addTo(this.children, slot.entry.parent, key);
    addTo(this.schemas, slot.entry.schema, key);
  }

  private unplace(key: string, slot: Slot): void {
    this.slots.delete(key);
    this.unindex(key, slot.entry);
  }

  private unindex(key: string, entry: LiveObject): void {
    if (entry.parent) removeFrom(this.children, entry.parent, key);
    removeFrom(this.schemas, entry.schema, key);
  }
}

function addTo(index: Map<string, Set<string>>, at: string, key: string): void {
  const keys = index.get(at);
  if (keys) keys.add(key);
  else index.set(at, new Set([key]));
}

function removeFrom(index: Map<string, Set<string>>, at: string, key: string): void {
  const keys = index.get(at);
  if (!keys) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(at);
}
