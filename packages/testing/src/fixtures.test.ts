import { type Decider, type DomainEvent, EventSourcedAggregate } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { aggregateFixture, deciderFixture } from './index.js';

type WalletEvent = DomainEvent<'Funded', { amount: number }> | DomainEvent<'Spent', { amount: number }>;

class Wallet extends EventSourcedAggregate<WalletEvent> {
  balance = 0;
  spend(amount: number) {
    if (amount > this.balance) throw new RangeError('not enough money');
    this.raiseEvent({ type: 'Spent', data: { amount } });
  }
  protected apply(event: WalletEvent) {
    this.balance += event.type === 'Funded' ? event.data.amount : -event.data.amount;
  }
}

// A defective aggregate: its command changes state outside apply().
class LeakyWallet extends Wallet {
  override spend(amount: number) {
    super.spend(amount);
    this.balance -= 1; // a "fee" that no event records
  }
}

const funded = (amount: number): WalletEvent => ({ type: 'Funded', data: { amount } });

// State only in a #private field: invisible to a field-by-field comparison.
class PrivateWallet extends EventSourcedAggregate<WalletEvent> {
  #balance = 0;
  get balance() {
    return this.#balance;
  }
  spend(amount: number) {
    this.raiseEvent({ type: 'Spent', data: { amount } });
    this.#balance -= 1; // state changed outside apply()
  }
  protected apply(event: WalletEvent) {
    this.#balance += event.type === 'Funded' ? event.data.amount : -event.data.amount;
  }
}

describe('aggregateFixture', () => {
  it('refuses to skip the replay check when it cannot see the state, and uses stateOf when given', async () => {
    const blind = aggregateFixture((id) => new PrivateWallet(id))
      .given(funded(10))
      .when((wallet) => wallet.spend(4));
    await expect(blind.thenEvents([{ type: 'Spent', data: { amount: 4 } }])).rejects.toThrow(/stateOf/);
    const seeing = aggregateFixture((id) => new PrivateWallet(id), { stateOf: (wallet) => wallet.balance })
      .given(funded(10))
      .when((wallet) => wallet.spend(4));
    await expect(seeing.thenEvents([{ type: 'Spent', data: { amount: 4 } }])).rejects.toThrow(
      /outside apply/,
    );
  });

  it('passes for the events a command raises', async () => {
    await aggregateFixture((id) => new Wallet(id))
      .given(funded(10))
      .when((wallet) => wallet.spend(4))
      .thenEvents([{ type: 'Spent', data: { amount: 4 } }]);
  });

  it('fails when the raised events differ', async () => {
    const outcome = aggregateFixture((id) => new Wallet(id))
      .given(funded(10))
      .when((wallet) => wallet.spend(4));
    await expect(outcome.thenEvents([{ type: 'Spent', data: { amount: 5 } }])).rejects.toThrow();
  });

  it('checks state and errors', async () => {
    const fixture = aggregateFixture((id) => new Wallet(id));
    await fixture
      .given(funded(10))
      .when((wallet) => wallet.spend(3))
      .thenState((wallet) => expect(wallet.balance).toBe(7));
    await fixture
      .given(funded(1))
      .when((wallet) => wallet.spend(3))
      .thenThrows(RangeError);
    await expect(
      fixture
        .given(funded(10))
        .when((wallet) => wallet.spend(1))
        .thenThrows(),
    ).rejects.toThrow('Expected the command to throw');
  });

  it('catches state changed outside apply by replaying the recorded events', async () => {
    const outcome = aggregateFixture((id) => new LeakyWallet(id))
      .given(funded(10))
      .when((wallet) => wallet.spend(4));
    await expect(outcome.thenEvents([{ type: 'Spent', data: { amount: 4 } }])).rejects.toThrow(
      /outside apply/,
    );
  });
});

type Light = { on: boolean; switches: number };
type LightEvent =
  | DomainEvent<'SwitchedOn', Record<string, never>>
  | DomainEvent<'SwitchedOff', Record<string, never>>;
const light: Decider<Light, 'toggle', LightEvent> = {
  initialState: () => ({ on: false, switches: 0 }),
  decide: (_, state) => (state.on ? { type: 'SwitchedOff', data: {} } : { type: 'SwitchedOn', data: {} }),
  evolve: (state, event) => ({ on: event.type === 'SwitchedOn', switches: state.switches + 1 }),
};

describe('deciderFixture', () => {
  it('checks decided events and the evolved state', () => {
    deciderFixture(light)
      .given({ type: 'SwitchedOn', data: {} })
      .when('toggle')
      .thenEvents([{ type: 'SwitchedOff', data: {} }]);
    deciderFixture(light)
      .given()
      .when('toggle')
      .thenState((state) => expect(state).toEqual({ on: true, switches: 1 }));
  });

  it('catches a decide that mutates its state', () => {
    const mutating: Decider<Light, 'toggle', LightEvent> = {
      ...light,
      decide: (command, state) => {
        state.switches++;
        return light.decide(command, state);
      },
    };
    expect(() =>
      deciderFixture(mutating)
        .given()
        .when('toggle')
        .thenEvents([{ type: 'SwitchedOn', data: {} }]),
    ).toThrow();
  });

  it('catches a non-deterministic decide', () => {
    let calls = 0;
    const flaky: Decider<Light, 'toggle', LightEvent> = {
      ...light,
      decide: () =>
        calls++ % 2 === 0 ? { type: 'SwitchedOn', data: {} } : { type: 'SwitchedOff', data: {} },
    };
    expect(() =>
      deciderFixture(flaky)
        .given()
        .when('toggle')
        .thenEvents([{ type: 'SwitchedOn', data: {} }]),
    ).toThrow(/deterministic/);
  });

  it('checks thrown domain errors', () => {
    const strict: Decider<Light, 'toggle', LightEvent> = {
      ...light,
      decide: () => {
        throw new Error('broken switch');
      },
    };
    deciderFixture(strict).given().when('toggle').thenThrows('broken switch');
  });
});
