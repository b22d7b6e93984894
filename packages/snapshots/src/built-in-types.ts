import { types } from 'node:util';

/** The built-in types the JSON snapshot encoding knows without a codec. */
export type BuiltIn = 'Array' | 'Date' | 'Map' | 'Set';

// The built-in type `value` really is (internal slot check, works across realms), if any.
export function builtInBrand(value: object): BuiltIn | undefined {
  if (Array.isArray(value)) return 'Array';
  if (types.isDate(value)) return 'Date';
  if (types.isMap(value)) return 'Map';
  if (types.isSet(value)) return 'Set';
  return undefined;
}

const OWN_PROTOTYPES: Readonly<Record<BuiltIn, object>> = {
  Array: Array.prototype,
  Date: Date.prototype,
  Map: Map.prototype,
  Set: Set.prototype,
};

// True when `value`'s prototype is the built-in's own prototype, of this realm or of another (a vm
// context, an iframe, jest's sandbox): its constructor is the native function of that name and the
// prototype's own prototype is a realm's Object.prototype. A subclass, or a prototype swapped for a
// look-alike, is not exact: decoding would give back the plain built-in without its methods.
export function isExactBuiltIn(value: object, builtIn: BuiltIn): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === OWN_PROTOTYPES[builtIn]) return true;
  if (typeof proto !== 'object' || proto === null) return false;
  const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  return (
    typeof ctor === 'function' &&
    ctor.name === builtIn &&
    ctor.prototype === proto &&
    isNativeFunction(ctor) &&
    isObjectPrototype(Object.getPrototypeOf(proto))
  );
}

function isObjectPrototype(candidate: unknown): boolean {
  if (typeof candidate !== 'object' || candidate === null) return false;
  const ctor = Object.getOwnPropertyDescriptor(candidate, 'constructor')?.value;
  return (
    Object.getPrototypeOf(candidate) === null &&
    typeof ctor === 'function' &&
    ctor.name === 'Object' &&
    isNativeFunction(ctor)
  );
}

function isNativeFunction(fn: (...args: never[]) => unknown): boolean {
  return /^function \w*\(\) \{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn));
}
