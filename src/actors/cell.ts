/**
 * An actor of one of the core's machines, held as its snapshot and stepped by the machine's own
 * transition function (XState's ActorLogic: `getInitialSnapshot`, `transition`,
 * `restoreSnapshot`), with one inert actor scope per machine shared by all its actors. A live
 * XState actor per model version and replica cost most of the core's time (creating actors and
 * running their mailboxes) and about 4 KB each; this steps the same machine definitions, so every
 * state change is still XState's, computed from the machine.
 *
 * It fits these machines because they are pure: their actions are `assign`s only (resolved by the
 * transition itself), with no delays, invocations, spawned children or emitted events, all of which
 * a live actor would run and this one does not.
 */
// Any machine's transition functions take a scope typed with `any` (AnyStateMachine); the scope
// given is always the machine's own.
/* eslint-disable @typescript-eslint/no-unsafe-argument */
import {
  createActor,
  type AnyActorScope,
  type AnyStateMachine,
  type EventFromLogic,
  type InputFrom,
  type Snapshot,
  type SnapshotFrom,
} from 'xstate';

/** One scope per machine: what its transition functions are given as the running actor. */
const scopes = new WeakMap<AnyStateMachine, AnyActorScope>();

function scopeOf(machine: AnyStateMachine): AnyActorScope {
  let scope = scopes.get(machine);
  if (!scope) {
    // As XState's own `transition()` does for each call: an actor that is never started stands
    // for `self`, and everything a pure machine never calls is inert.
    const self = createActor(machine);
    scope = {
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
    scopes.set(machine, scope);
  }
  return scope;
}

export class Cell<M extends AnyStateMachine> {
  private stopped = false;

  private constructor(
    private readonly machine: M,
    private readonly scope: AnyActorScope,
    private snapshot: SnapshotFrom<M>,
  ) {}

  /** A new actor from the machine's input, or one restored from its persisted snapshot. */
  static of<M extends AnyStateMachine>(
    machine: M,
    from: { input: InputFrom<M> } | { snapshot: Snapshot<unknown> },
  ): Cell<M> {
    const scope = scopeOf(machine);
    const snapshot =
      'snapshot' in from
        ? machine.restoreSnapshot(from.snapshot, scope)
        : machine.getInitialSnapshot(scope, from.input);
    return new Cell(machine, scope, snapshot as SnapshotFrom<M>);
  }

  getSnapshot(): SnapshotFrom<M> {
    return this.snapshot;
  }

  /** What the store keeps: the machine's persisted form of the snapshot. */
  getPersistedSnapshot(): Snapshot<unknown> {
    return this.machine.getPersistedSnapshot(this.snapshot);
  }

  /** Takes `event` (ignored once stopped, as a stopped actor ignores it). */
  send(event: EventFromLogic<M>): void {
    if (this.stopped) return;
    this.snapshot = this.machine.transition(this.snapshot, event, this.scope) as SnapshotFrom<M>;
  }

  stop(): void {
    this.stopped = true;
  }
}
