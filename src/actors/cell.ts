/**
 * An actor of one of the core's machines, held as its snapshot and stepped by the machine's own
 * transition function (XState's ActorLogic: `getInitialSnapshot`, `transition`, `resolveState`),
 * with one inert actor scope per machine shared by all its actors. A live XState actor per model
 * version and replica cost most of the core's time (creating actors and running their mailboxes)
 * and about 4 KB each; this steps the same machine definitions, so every state change is still
 * XState's, computed from the machine.
 *
 * Idle actors are passivated, as virtual actors are: only the most recently used keep their full
 * snapshot ({@link Cell.hotLimit}); the others keep the state value and context, all that a
 * snapshot of these machines holds, and are resolved back into a snapshot by the machine when
 * next stepped. Reading the value or context never resolves. A restored actor starts passive, so a
 * restore costs no XState work for the actors nothing touches.
 *
 * It fits these machines because they are pure: their actions are `assign`s only (resolved by the
 * transition itself), with no delays, invocations, spawned children, history states or emitted
 * events, all of which a live actor would run and this one does not.
 */
// Any machine's transition functions take a scope typed with `any` (AnyStateMachine); the scope
// given is always the machine's own.
/* eslint-disable @typescript-eslint/no-unsafe-argument */
import {
  createActor,
  type AnyActorScope,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type ContextFrom,
  type EventFromLogic,
  type InputFrom,
  type Snapshot,
  type SnapshotFrom,
  type StateValue,
} from 'xstate';

/** What the state value alone decides: its tags, and whether it is final (the actor is done). */
interface StateFacts {
  readonly tags: ReadonlySet<string>;
  readonly status: AnyMachineSnapshot['status'];
}

/** What every cell of one machine shares: the machine, its scope, the facts of each state value. */
interface Kind {
  readonly machine: AnyStateMachine;
  readonly scope: AnyActorScope;
  readonly facts: Map<string, StateFacts>;
}

const kinds = new WeakMap<AnyStateMachine, Kind>();

function kindOf(machine: AnyStateMachine): Kind {
  let kind = kinds.get(machine);
  if (!kind) {
    // As XState's own `transition()` does for each call: an actor that is never started stands
    // for `self`, and everything a pure machine never calls is inert.
    const self = createActor(machine);
    const scope: AnyActorScope = {
      self,
      id: '',
      sessionId: '',
      system: self.system,
      logger: () => undefined,
      defer: () => undefined,
      stopChild: () => undefined,
      emit: () => undefined,
      actionExecutor: () => undefined,
    };
    kind = { machine, scope, facts: new Map() };
    kinds.set(machine, kind);
  }
  return kind;
}

const valueKey = (value: StateValue): string =>
  typeof value === 'string' ? value : JSON.stringify(value);

/** Cells holding a full snapshot, least recently used first (a Set keeps insertion order). */
const hot = new Set<{ passivate(): void }>();

export class Cell<M extends AnyStateMachine> {
  /** How many cells keep their full snapshot; the least recently used beyond it are passivated. */
  static hotLimit = 1024;

  private snapshot: AnyMachineSnapshot | undefined;
  private stopped = false;

  private constructor(
    private readonly kind: Kind,
    private stateValue: StateValue,
    private stateContext: ContextFrom<M>,
  ) {}

  /**
   * A new actor from the machine's input, or one restored from its persisted snapshot (from
   * {@link getPersistedSnapshot}), passive until used.
   * @throws Error when a persisted state value is not one of the machine's states.
   */
  static of<M extends AnyStateMachine>(
    machine: M,
    from: { input: InputFrom<M> } | { snapshot: Snapshot<unknown> },
  ): Cell<M> {
    const kind = kindOf(machine);
    if ('snapshot' in from) {
      const { value, context } = from.snapshot as unknown as {
        value: StateValue;
        context: ContextFrom<M>;
      };
      if (!isStateOf(machine, value)) {
        throw new Error(`${machine.id}: ${JSON.stringify(value)} is not one of its states`);
      }
      return new Cell<M>(kind, value, context);
    }
    const snapshot = machine.getInitialSnapshot(kind.scope, from.input) as AnyMachineSnapshot;
    const cell = new Cell<M>(kind, snapshot.value, snapshot.context as ContextFrom<M>);
    cell.keep(snapshot);
    return cell;
  }

  /**
   * Another actor in the same state (value and context, which the machine never mutates: an
   * `assign` makes a new one), passive, stepping on its own from here (a plan's copy of the state).
   */
  copy(): Cell<M> {
    return new Cell<M>(this.kind, this.stateValue, this.stateContext);
  }

  /** The state value (never resolves a passive actor). */
  get value(): SnapshotFrom<M>['value'] {
    return this.stateValue as SnapshotFrom<M>['value'];
  }

  /** The context (never resolves a passive actor). */
  get context(): ContextFrom<M> {
    return this.stateContext;
  }

  /** Whether the current state has `tag` (never resolves a passive actor). */
  hasTag(tag: string): boolean {
    return this.facts().tags.has(tag);
  }

  /** 'done' once in a final state, else 'active' (never resolves a passive actor). */
  get status(): AnyMachineSnapshot['status'] {
    return this.facts().status;
  }

  /** Read from the first snapshot the machine resolved for this state value. */
  private facts(): StateFacts {
    const key = valueKey(this.stateValue);
    let facts = this.kind.facts.get(key);
    if (!facts) {
      const { tags, status } = this.resolved();
      facts = { tags, status };
      this.kind.facts.set(key, facts);
    }
    return facts;
  }

  /** The full snapshot, resolved by the machine when the actor was passive. */
  getSnapshot(): SnapshotFrom<M> {
    return this.resolved() as SnapshotFrom<M>;
  }

  private resolved(): AnyMachineSnapshot {
    let snapshot = this.snapshot;
    if (snapshot) {
      if (hot.delete(this)) hot.add(this);
    } else {
      snapshot = this.resolve();
      this.keep(snapshot);
    }
    return snapshot;
  }

  /** The snapshot of the state value and context, as the machine resolves it. */
  private resolve(): AnyMachineSnapshot {
    return this.kind.machine.resolveState({ value: this.stateValue, context: this.stateContext });
  }

  /**
   * What the store keeps: the machine's persisted form of the snapshot. A passive actor stays
   * passive (a full write of every record does not churn the recently used).
   */
  getPersistedSnapshot(): Snapshot<unknown> {
    return this.kind.machine.getPersistedSnapshot(this.snapshot ?? this.resolve());
  }

  /**
   * Takes `event` (ignored once stopped, as a stopped actor ignores it). @returns whether
   * anything changed: an event the machine does not take leaves the snapshot as it was.
   */
  send(event: EventFromLogic<M>): boolean {
    if (this.stopped) return false;
    const before = this.resolved();
    const after = this.kind.machine.transition(
      before,
      event,
      this.kind.scope,
    ) as AnyMachineSnapshot;
    if (after === before) return false;
    this.stateValue = after.value as StateValue;
    this.stateContext = after.context as ContextFrom<M>;
    this.snapshot = after;
    return true;
  }

  stop(): void {
    this.stopped = true;
    this.passivate();
  }

  private keep(snapshot: AnyMachineSnapshot): void {
    this.snapshot = snapshot;
    hot.add(this);
    while (hot.size > Cell.hotLimit) {
      const [oldest] = hot;
      oldest?.passivate();
    }
  }

  /** Drops the full snapshot (kept: value and context). */
  passivate(): void {
    this.snapshot = undefined;
    hot.delete(this);
  }
}

/** Whether `value` names states of the machine (a leaf, or a path of nested states). */
function isStateOf(machine: AnyStateMachine, value: StateValue): boolean {
  const within = (node: AnyStateMachine['root'], v: StateValue): boolean => {
    if (typeof v === 'string') return v in node.states;
    const entries = Object.entries(v);
    return (
      entries.length > 0 &&
      entries.every(([key, sub]) => {
        const child = node.states[key];
        return child !== undefined && (sub === undefined || within(child, sub));
      })
    );
  };
  return within(machine.root, value);
}
