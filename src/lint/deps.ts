import type { Finding, MigrationPlan } from '../migrations/types';
import { describeFile, type ObjectAction } from './object-graph';
import { CatalogState, type Changes, type LiveObject, type Slot } from './catalog-state';
import { eachWithTurns } from '../event-loop';
import { formatVersion, parsePlan, type ParsedMigration } from './parse-plan';
import type { ParsedFile } from './sql-parse';

/** What one migration creates, drops and uses, and which earlier migrations it needs. */
export interface MigrationDependencies {
  version: number;
  file: string;
  /** Versions whose objects this migration's forward file uses. */
  dependsOn: number[];
  creates: string[];
  drops: string[];
  uses: string[];
}

export interface DepsReport {
  findings: Finding[];
  migrations: MigrationDependencies[];
  /** Groups of versions that depend on each other (each sorted ascending). */
  cycles: number[][];
}

const describe = (o: { kind: string; name: string }) => `${o.kind} ${o.name}`;

/** Removes an object and what depends on it in the catalog (columns, indexes, triggers…). */
function removeObject(state: CatalogState, key: string): void {
  const entry = state.get(key);
  state.delete(key);
  const members = entry?.kind === 'schema' ? state.inSchema(entry.name) : [];
  for (const childKey of state.childrenOf(key)) removeObject(state, childKey);
  for (const member of members) state.delete(member);
}

function renameObject(state: CatalogState, action: ObjectAction, version: number): void {
  const entry = state.get(action.key);
  if (!entry || !action.newKey || !action.newName) return;
  state.delete(action.key);
  state.set(action.newKey, {
    ...entry,
    key: action.newKey,
    name: action.newName,
    createdBy: version,
  });
  if (action.kind === 'column') return;
  const oldPrefix = action.key.replace(/^relation:/, '');
  const newPrefix = action.newKey.replace(/^relation:/, '');
  const newTable = action.newName;
  const children = state.childrenOf(action.key).map((key) => [key, state.get(key)!] as const);
  for (const [childKey, child] of children) {
    state.delete(childKey);
    const rekeyed = childKey.startsWith('relation:')
      ? childKey
      : childKey.replace(`:${oldPrefix}.`, `:${newPrefix}.`);
    const tail = child.kind === 'column' ? child.name.slice(child.name.lastIndexOf('.')) : '';
    state.set(rekeyed, {
      ...child,
      key: rekeyed,
      parent: action.newKey,
      name: child.kind === 'column' ? `${newTable}${tail}` : child.name,
    });
  }
}

class DependencyAnalysis {
  readonly findings: Finding[] = [];
  readonly edges = new Map<number, Map<number, string>>();
  /** Versions whose forward file creates each key. */
  readonly creators = new Map<string, number[]>();
  /** Versions whose forward file uses each key. */
  readonly users = new Map<string, Set<number>>();
  readonly droppedBy = new Map<string, number>();
  readonly warnedUnknown = new Set<string>();
  hasExtensions = false;
  private readonly files = new Map<number, string>();

  constructor(private readonly parsed: ParsedMigration[]) {}

  fileOf(version: number): string {
    return this.files.get(version) ?? formatVersion(version);
  }

  addEdge(from: number, to: number, reason: string): void {
    if (from === to || to === 0) return;
    const targets = this.edges.get(from) ?? new Map<number, string>();
    if (!targets.has(to)) targets.set(to, reason);
    this.edges.set(from, targets);
  }

  report(
    severity: Finding['severity'],
    rule: string,
    file: ParsedFile,
    action: ObjectAction,
    message: string,
  ): void {
    this.findings.push({
      severity,
      rule,
      message,
      file: file.file,
      line: action.line,
      object: describe(action),
    });
  }

  /** Collects who creates and uses what, before simulating. */
  index(actions: Map<number, ObjectAction[]>): void {
    for (const { migration, forward } of this.parsed)
      this.files.set(migration.version, forward.file);
    for (const [version, list] of actions) {
      for (const action of list) {
        if (action.kind === 'extension' && action.action === 'create') this.hasExtensions = true;
        if (action.action === 'create' || action.action === 'rename') {
          const key = action.action === 'rename' ? action.newKey! : action.key;
          const versions = this.creators.get(key) ?? [];
          if (!versions.includes(version)) versions.push(version);
          this.creators.set(key, versions);
        }
        if (action.action === 'use' && !action.builtin) {
          const set = this.users.get(action.key) ?? new Set<number>();
          set.add(version);
          this.users.set(action.key, set);
        }
      }
    }
  }

  /** Whether a missing object is worth reporting (columns only on tables whose columns we know). */
  applies(state: CatalogState, action: ObjectAction): boolean {
    if (action.builtin) return false;
    if (action.kind === 'column') {
      const table = action.parent ? state.get(action.parent) : undefined;
      return !!table?.columnsKnown;
    }
    return true;
  }

  unknown(file: ParsedFile, action: ObjectAction, version: number): void {
    if (this.warnedUnknown.has(action.key)) return;
    if (this.hasExtensions && (action.kind === 'function' || action.kind === 'type')) return;
    this.warnedUnknown.add(action.key);
    this.report(
      'warning',
      'deps/unknown-object',
      file,
      action,
      `${action.action === 'drop' ? 'drops' : 'references'} ${describe(action)}, which no migration creates: it must already exist in every database ${formatVersion(version)} runs on (or a migration should create it)`,
    );
  }

  /** A forward file's action on an object that is not there. */
  missingInForward(file: ParsedFile, action: ObjectAction, version: number): void {
    const verb = action.action === 'drop' ? 'drops' : 'references';
    const creators = this.creators.get(action.key) ?? [];
    const later = creators.find((v) => v > version);
    const self = creators.includes(version);
    const dropper = this.droppedBy.get(action.key);
    if (self && !creators.some((v) => v < version)) {
      this.report(
        'error',
        'deps/use-before-create',
        file,
        action,
        `${verb} ${describe(action)} before this file creates it: move the statement after its creation`,
      );
    } else if (dropper !== undefined && dropper < version) {
      this.report(
        'error',
        'deps/use-after-drop',
        file,
        action,
        `${verb} ${describe(action)}, which ${this.fileOf(dropper)} drops before ${formatVersion(version)} runs`,
      );
    } else if (later !== undefined) {
      this.addEdge(
        version,
        later,
        `${formatVersion(version)} uses ${describe(action)} (created in ${formatVersion(later)})`,
      );
      this.report(
        'error',
        'deps/use-before-create',
        file,
        action,
        `${verb} ${describe(action)}, which no migration creates before ${formatVersion(version)} (created in ${formatVersion(later)})`,
      );
    } else if (creators.length === 0) {
      this.unknown(file, action, version);
    }
  }

  forward(state: CatalogState, file: ParsedFile, version: number, actions: ObjectAction[]): void {
    for (const action of actions) {
      if (action.builtin) continue;
      const entry = state.get(action.key);
      if (action.action === 'create') {
        if (entry && !action.tolerant && action.kind !== 'column') {
          this.report(
            'error',
            'deps/already-exists',
            file,
            action,
            `creates ${describe(action)}, which ${entry.createdBy ? this.fileOf(entry.createdBy) : 'an earlier statement'} already creates: applying fails (use IF NOT EXISTS or drop the duplicate)`,
          );
        }
        if (!entry) recordCreation(state, action, version);
        continue;
      }
      if (entry) {
        this.addEdge(
          version,
          entry.createdBy,
          `${formatVersion(version)} uses ${describe(entry)} (created in ${formatVersion(entry.createdBy)})`,
        );
        if (action.action === 'drop') {
          removeObject(state, action.key);
          this.droppedBy.set(action.key, version);
        } else if (action.action === 'rename') renameObject(state, action, version);
      } else if (!action.tolerant && this.applies(state, action)) {
        this.missingInForward(file, action, version);
      }
    }
  }

  rollback(state: CatalogState, file: ParsedFile, version: number, actions: ObjectAction[]): void {
    const label = formatVersion(version);
    for (const action of actions) {
      if (action.builtin) continue;
      const entry = state.get(action.key);
      if (action.action === 'create') {
        if (entry && !action.tolerant && action.kind !== 'column')
          this.report(
            'error',
            'deps/rollback-conflict',
            file,
            action,
            `creates ${describe(action)}, which already exists when ${label} is rolled back (created in ${entry.createdBy ? formatVersion(entry.createdBy) : 'the database'}): the rollback fails`,
          );
        if (!entry) recordCreation(state, action, version);
        continue;
      }
      if (!entry) {
        if (action.tolerant || !this.applies(state, action)) continue;
        const verb = action.action === 'drop' ? 'drops' : 'references';
        const later = (this.creators.get(action.key) ?? []).find((v) => v > version);
        const dropper = this.droppedBy.get(action.key);
        if (later !== undefined)
          this.report(
            'error',
            'deps/rollback-missing-object',
            file,
            action,
            `${verb} ${describe(action)}, which does not exist when ${label} is rolled back (it is created in ${formatVersion(later)}, rolled back before)`,
          );
        else if (dropper !== undefined && dropper <= version)
          this.report(
            'error',
            'deps/rollback-missing-object',
            file,
            action,
            `${verb} ${describe(action)}, which does not exist when ${label} is rolled back (dropped by ${this.fileOf(dropper)})`,
          );
        else if (!this.creators.has(action.key)) this.unknown(file, action, version);
        continue;
      }
      if (action.action === 'drop') {
        if (entry.createdBy !== version) this.foreignDrop(file, action, entry, version);
        removeObject(state, action.key);
      } else if (action.action === 'rename') renameObject(state, action, version);
    }
  }

  /** A rollback dropping what an earlier migration created breaks the migrations that stay. */
  foreignDrop(file: ParsedFile, action: ObjectAction, entry: LiveObject, version: number): void {
    const label = formatVersion(version);
    if (entry.createdBy === 0) {
      this.report(
        'warning',
        'deps/rollback-drops-foreign-object',
        file,
        action,
        `drops ${describe(entry)}, which ${label} did not create (no migration creates it): migrate down past ${label} would leave the database without it`,
      );
      return;
    }
    const users = [...(this.users.get(action.key) ?? [])]
      .filter((v) => v !== version && v < version && v !== entry.createdBy)
      .sort((a, b) => a - b)
      .map(formatVersion);
    const usedBy = users.length ? `; it is used by ${users.join(', ')}` : '';
    this.report(
      'error',
      'deps/rollback-drops-foreign-object',
      file,
      action,
      `drops ${describe(entry)}, which ${this.fileOf(entry.createdBy)} created, not ${label}: migrate down to ${version - 1} would leave ${formatVersion(entry.createdBy)}–${formatVersion(version - 1)} without it${usedBy}. Drop only what ${label} creates`,
    );
  }

  /**
   * After rollback N the database should be as it was before forward N. `afterRollback` is the
   * catalogue with the rollback applied; the states after forward N and before it are read
   * through the changes each recorded (so the walk never copies the catalogue).
   */
  completeness(
    file: ParsedFile,
    version: number,
    afterRollback: CatalogState,
    forwardChanges: Changes,
    rollbackChanges: Changes,
  ): void {
    const label = formatVersion(version);
    const afterForward = (key: string) =>
      rollbackChanges.has(key) ? rollbackChanges.get(key) : afterRollback.slot(key);
    const before = (key: string) =>
      forwardChanges.has(key) ? forwardChanges.get(key) : afterForward(key);
    // Only the forward file's changes can create an object of this version or remove one.
    const created = [...forwardChanges.keys()]
      .map(afterForward)
      .filter((slot): slot is Slot => slot?.entry.createdBy === version);
    for (const { entry } of created.sort(inOrder)) {
      if (before(entry.key) || !afterRollback.has(entry.key)) continue;
      if (entry.parent && afterForward(entry.parent)?.entry.createdBy === version) continue;
      this.findings.push({
        severity: 'warning',
        rule: 'deps/rollback-incomplete',
        message: `does not drop ${describe(entry)}, which ${this.fileOf(version)} creates: after rolling back ${label} it is still there`,
        file: file.file,
        object: describe(entry),
      });
    }
    const removed = [...forwardChanges]
      .filter(([key, slot]) => slot && !afterForward(key))
      .map(([, slot]) => slot!);
    for (const { entry } of removed.sort(inOrder)) {
      if (afterRollback.has(entry.key)) continue;
      if (entry.parent && !afterRollback.get(entry.parent)?.columnsKnown && entry.kind === 'column')
        continue;
      if (entry.parent && !afterRollback.has(entry.parent)) continue;
      this.findings.push({
        severity: 'warning',
        rule: 'deps/rollback-incomplete',
        message: `does not restore ${describe(entry)}, which ${this.fileOf(version)} drops or renames: after rolling back ${label} it is missing`,
        file: file.file,
        object: describe(entry),
      });
    }
  }

  cycles(): number[][] {
    const result: number[][] = [];
    const indexOf = new Map<number, number>();
    const low = new Map<number, number>();
    const stack: number[] = [];
    const onStack = new Set<number>();
    let counter = 0;
    const connect = (v: number) => {
      indexOf.set(v, counter);
      low.set(v, counter++);
      stack.push(v);
      onStack.add(v);
      for (const w of this.edges.get(v)?.keys() ?? []) {
        if (!indexOf.has(w)) {
          connect(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
      if (low.get(v) === indexOf.get(v)) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== v);
        if (component.length > 1) result.push(component.sort((a, b) => a - b));
      }
    };
    for (const v of this.edges.keys()) if (!indexOf.has(v)) connect(v);
    return result.sort((a, b) => a[0] - b[0]);
  }

  reportCycle(cycle: number[]): void {
    const members = new Set(cycle);
    const reasons: string[] = [];
    for (const from of cycle)
      for (const [to, reason] of this.edges.get(from) ?? [])
        if (members.has(to)) reasons.push(reason);
    this.findings.push({
      severity: 'error',
      rule: 'deps/cycle',
      message: `migrations ${cycle.map(formatVersion).join(', ')} depend on each other (${reasons.join('; ')}): no order applies them all; move the shared objects into the earliest migration`,
      file: this.fileOf(cycle[0]),
    });
  }
}

const inOrder = (a: Slot, b: Slot) => a.order - b.order;

function syntaxFinding(file: ParsedFile): Finding {
  return {
    severity: 'error',
    rule: 'deps/syntax',
    message: `${file.syntaxError!.message} (PostgreSQL parser): fix the SQL; dependencies of this file are not checked`,
    file: file.file,
    line: file.syntaxError!.line,
  };
}

function summarise(actions: ObjectAction[], kind: ObjectAction['action']): string[] {
  return [...new Set(actions.filter((a) => a.action === kind && !a.builtin).map(describe))];
}

/**
 * Walks the plan in order on a simulated catalog: reports objects used before the migration
 * that creates them, dependency cycles between migrations, rollbacks that drop what they did
 * not create (breaking the migrations that stay applied) or that miss objects, and objects
 * no migration creates (warnings: they may pre-exist).
 */
export async function validateDeps(plan: MigrationPlan): Promise<DepsReport> {
  const parsed = await parsePlan(plan);
  const forwardActions = new Map<number, ObjectAction[]>();
  const rollbackActions = new Map<number, ObjectAction[]>();
  await eachWithTurns(parsed, ({ migration, forward, rollback }) => {
    forwardActions.set(migration.version, describeFile(forward));
    rollbackActions.set(migration.version, describeFile(rollback));
  });
  const analysis = new DependencyAnalysis(parsed);
  analysis.index(forwardActions);
  const state = new CatalogState();
  await eachWithTurns(parsed, ({ migration, forward, rollback }) => {
    const version = migration.version;
    if (forward.syntaxError) analysis.findings.push(syntaxFinding(forward));
    if (rollback.syntaxError) analysis.findings.push(syntaxFinding(rollback));
    const forwardChanges = state.record();
    analysis.forward(state, forward, version, forwardActions.get(version)!);
    state.stopRecording();
    if (rollback.syntaxError || forward.syntaxError) return;
    // The rollback is tried on the catalogue itself, then undone.
    const rollbackChanges = state.record();
    analysis.rollback(state, rollback, version, rollbackActions.get(version)!);
    state.stopRecording();
    analysis.completeness(rollback, version, state, forwardChanges, rollbackChanges);
    state.undo(rollbackChanges);
  });
  const cycles = analysis.cycles();
  for (const cycle of cycles) analysis.reportCycle(cycle);
  const migrations = parsed.map(({ migration, forward }) => {
    const actions = forwardActions.get(migration.version)!;
    return {
      version: migration.version,
      file: forward.file,
      dependsOn: [...(analysis.edges.get(migration.version)?.keys() ?? [])].sort((a, b) => a - b),
      creates: summarise(actions, 'create'),
      drops: summarise(actions, 'drop'),
      uses: summarise(actions, 'use'),
    };
  });
  return { findings: analysis.findings, migrations, cycles };
}

/** `action` creates its object in `version`: it exists from now on in the walked state. */
function recordCreation(state: CatalogState, action: ObjectAction, version: number): void {
  state.set(action.key, {
    key: action.key,
    kind: action.kind,
    name: action.name,
    schema: action.schema,
    createdBy: version,
    parent: action.parent,
    columnsKnown: action.columnsKnown,
  });
}
