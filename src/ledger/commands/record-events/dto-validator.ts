import { Type } from 'class-transformer';
import { getMetadataStorage, ValidateNested, ValidationTypes, type ValidationArguments, type ValidationOptions, type ValidatorConstraintInterface } from 'class-validator';
import type { FieldError } from './validation.js';

/*
 * DTO validation with class-validator's decorators and constraint implementations, compiled:
 * each DTO class's metadata is read once from class-validator's storage and arranged per
 * property, and a parsed request body is then checked in place, in one pass — no
 * plainToInstance copy, no metadata lookups per object, no ValidationError tree holding the
 * caller's values. Decisions and messages are those of
 * `validateSync(plainToInstance(cls, body), { whitelist, forbidNonWhitelisted, forbidUnknownValues })`
 * (test/unit/record-events/dto-validator.spec.ts compares the two), except where that pair
 * lets malformed input through:
 *  - every member that is not a decorated property is refused, also `constructor` and the
 *    names of Object.prototype, which plainToInstance drops without a word;
 *  - a nested DTO must be a JSON object (each element of one under `{ each: true }`): class-validator
 *    also descends into an array in a singular position and into arrays of arrays.
 * Messages are not built with `$value`, so a refusal echoes a value only where a constraint's
 * own message names it (unknown vocabulary keys). Metadata this compiler does not implement
 * (validation groups, `always`, async or promise validation) throws when the class is compiled.
 */

type AnyClass = abstract new (...args: never[]) => object;
type Metadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

interface ConstraintCheck {
  /** The key class-validator files the failure under (the constraint's name). */
  readonly key: string;
  readonly each: boolean;
  readonly constraints: unknown[] | undefined;
  readonly message: Metadata['message'] | undefined;
  readonly validateIf: ((object: object, value: unknown) => boolean) | undefined;
  readonly constraint: ValidatorConstraintInterface;
}

interface NestedCheck {
  readonly each: boolean;
  readonly message: string;
  readonly plan: () => DtoPlan;
}

interface PropertyPlan {
  readonly name: string;
  readonly conditions: ReadonlyArray<(object: object, value: unknown) => boolean>;
  /** IS_DEFINED constraints first, then the others, in decorator order (as class-validator runs them). */
  readonly checks: readonly ConstraintCheck[];
  readonly nested: NestedCheck | null;
}

interface DtoPlan {
  readonly targetName: string;
  /** In decorator order: the order class-validator reports in. */
  readonly properties: readonly PropertyPlan[];
  /** In canonical (RFC 8785) member order. */
  readonly canonical: readonly PropertyPlan[];
  readonly known: ReadonlySet<string>;
}

/** The DTO class each nested property holds (declared with NestedDto). */
const NESTED_CLASSES = new Map<object, Map<string, () => AnyClass>>();
const PLANS = new Map<AnyClass, DtoPlan>();

/**
 * A property holding another DTO (or, with `{ each: true }`, an array of them): class-validator's
 * ValidateNested and class-transformer's Type in one, with the class known to the compiler.
 */
export function NestedDto(cls: () => AnyClass, options?: ValidationOptions): PropertyDecorator {
  return (target, key) => {
    ValidateNested(options)(target, key);
    Type(cls as () => new () => object)(target, key);
    const byProperty = NESTED_CLASSES.get(target.constructor) ?? new Map<string, () => AnyClass>();
    byProperty.set(String(key), cls);
    NESTED_CLASSES.set(target.constructor, byProperty);
  };
}

/** Compiles DTO classes ahead of their first request, so a decorator the compiler refuses fails at start-up. */
export function compileDtos(...classes: readonly AnyClass[]): void {
  for (const cls of classes) planOf(cls);
}

/**
 * Checks a plain JSON value against a DTO class. On success the value itself is returned, typed
 * as the DTO (it holds only the DTO's properties, each valid); field paths start at `path`.
 */
export function validateDto<T extends object>(cls: abstract new (...args: never[]) => T, plain: unknown, path: string): { value?: T; errors: FieldError[] } {
  if (!isJsonObject(plain)) return { errors: [{ field: path || '(body)', reason: 'must be a JSON object' }] };
  const errors: FieldError[] = [];
  checkObject(planOf(cls), plain, path, errors);
  return errors.length === 0 ? { value: plain as T, errors } : { errors };
}

/**
 * A copy of a value validateDto accepted, with members in canonical (RFC 8785) order at every
 * level — the DTO's properties in the order compiled once, nested DTOs likewise, other objects
 * sorted — so the idempotency digest and the stored record take it without reordering.
 * Arrays of primitives are shared; undefined members are left out.
 */
export function canonicalDtoCopy<T extends object>(cls: abstract new (...args: never[]) => T, value: T): T {
  return copyDto(planOf(cls), value as unknown as Record<string, unknown>) as unknown as T;
}

function copyDto(plan: DtoPlan, object: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const property of plan.canonical) {
    const value = object[property.name];
    if (value === undefined) continue;
    const nested = property.nested;
    if (nested && Array.isArray(value)) copy[property.name] = value.map((element: unknown) => (isJsonObject(element) ? copyDto(nested.plan(), element) : copyJson(element)));
    else if (nested && isJsonObject(value)) copy[property.name] = copyDto(nested.plan(), value);
    else copy[property.name] = copyJson(value);
  }
  return copy;
}

function copyJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.some((v) => typeof v === 'object' && v !== null) ? value.map(copyJson) : value;
  const record = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) copy[key] = copyJson(record[key]);
  return copy;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function member(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function checkObject(plan: DtoPlan, object: Record<string, unknown>, path: string, out: FieldError[]): void {
  for (const key of Object.keys(object)) if (!plan.known.has(key)) out.push({ field: member(path, key), reason: 'is not a known field' });
  for (const property of plan.properties) checkProperty(plan, property, object, path, out);
}

function checkProperty(plan: DtoPlan, property: PropertyPlan, object: Record<string, unknown>, path: string, out: FieldError[]): void {
  const value = object[property.name];
  for (const condition of property.conditions) if (!condition(object, value)) return;
  let failures: Map<string, string> | null = null;
  let args: ValidationArguments | null = null;
  for (const check of property.checks) {
    if (check.validateIf && !check.validateIf(object, value)) continue;
    args ??= { targetName: plan.targetName, property: property.name, object, value, constraints: [] };
    args.constraints = check.constraints as ValidationArguments['constraints'];
    if (passes(check, value, args)) continue;
    (failures ??= new Map()).set(check.key, messageOf(check, args));
  }
  const field = member(path, property.name);
  const nested = property.nested;
  // class-validator lists a property's own reasons before those of its members.
  const ownAt = out.length;
  if (nested && value !== undefined) {
    if (nested.each && Array.isArray(value)) {
      value.forEach((element: unknown, i) => {
        if (isJsonObject(element)) checkObject(nested.plan(), element, `${field}[${i}]`, out);
        else out.push({ field: `${field}[${i}]`, reason: tokens(nested.message, property.name, plan.targetName, undefined) });
      });
    } else if (isJsonObject(value)) {
      checkObject(nested.plan(), value, field, out);
    } else if (!failures) {
      // Where another constraint (IsObject) refused the value already, that reason says it.
      failures = new Map([[ValidationTypes.NESTED_VALIDATION, tokens(nested.message, property.name, plan.targetName, undefined)]]);
    }
  }
  if (!failures) return;
  const own: FieldError[] = [];
  if (value === undefined) own.push({ field, reason: 'is required' });
  else for (const message of failures.values()) own.push({ field, reason: message.startsWith(`${property.name} `) ? message.slice(property.name.length + 1) : message });
  out.splice(ownAt, 0, ...own);
}

function passes(check: ConstraintCheck, value: unknown, args: ValidationArguments): boolean {
  if (check.each && Array.isArray(value)) {
    for (const element of value) if (!validated(check, element, args)) return false;
    return true;
  }
  return validated(check, value, args);
}

function validated(check: ConstraintCheck, value: unknown, args: ValidationArguments): boolean {
  const result: unknown = check.constraint.validate(value, args);
  if (typeof result === 'object' && result !== null && typeof (result as { then?: unknown }).then === 'function') {
    throw new Error(`constraint ${check.key} of ${args.targetName}.${args.property} is asynchronous; DTO validation is synchronous`);
  }
  return Boolean(result);
}

function messageOf(check: ConstraintCheck, args: ValidationArguments): string {
  const declared = check.message;
  const text = declared ? (typeof declared === 'function' ? declared(args) : declared) : (check.constraint.defaultMessage?.(args) ?? '');
  return tokens(text, args.property, args.targetName, check.constraints);
}

/** class-validator's message tokens, except `$value` (see the file's opening comment). */
function tokens(message: string, property: string, targetName: string, constraints: readonly unknown[] | undefined): string {
  let text = message;
  constraints?.forEach((constraint, i) => {
    text = text.replace(new RegExp(`\\$constraint${i + 1}`, 'g'), constraintText(constraint));
  });
  return text.replace(/\$property/g, property).replace(/\$target/g, targetName);
}

function constraintText(constraint: unknown): string {
  if (Array.isArray(constraint)) return constraint.join(', ');
  if (typeof constraint === 'symbol') return constraint.description ?? '';
  return String(constraint);
}

function planOf(cls: AnyClass): DtoPlan {
  let plan = PLANS.get(cls);
  if (!plan) {
    plan = compile(cls);
    PLANS.set(cls, plan);
  }
  return plan;
}

function compile(cls: AnyClass): DtoPlan {
  const storage = getMetadataStorage();
  const byProperty = new Map<string, Metadata[]>();
  for (const metadata of storage.getTargetValidationMetadatas(cls, '', false, false)) {
    const list = byProperty.get(metadata.propertyName) ?? [];
    list.push(metadata);
    byProperty.set(metadata.propertyName, list);
  }
  const unsupported = (metadata: Metadata, what: string) => new Error(`${cls.name}.${metadata.propertyName}: ${what} is not supported by the DTO compiler`);
  const properties: PropertyPlan[] = [];
  for (const [name, metadatas] of byProperty) {
    if (name in Object.prototype || name === '__proto__') throw new Error(`${cls.name}.${name}: a DTO property may not shadow Object.prototype`);
    const conditions: Array<(object: object, value: unknown) => boolean> = [];
    const defined: ConstraintCheck[] = [];
    const checks: ConstraintCheck[] = [];
    let nested: NestedCheck | null = null;
    for (const metadata of metadatas) {
      if (metadata.groups?.length) throw unsupported(metadata, 'a validation group');
      if (metadata.always !== undefined) throw unsupported(metadata, "the 'always' option");
      switch (metadata.type) {
        case ValidationTypes.CONDITIONAL_VALIDATION:
          conditions.push(metadata.constraints[0] as (object: object, value: unknown) => boolean);
          break;
        case ValidationTypes.WHITELIST:
          break;
        case ValidationTypes.NESTED_VALIDATION: {
          const nestedClass = NESTED_CLASSES.get(cls)?.get(name);
          if (!nestedClass) throw unsupported(metadata, 'ValidateNested without NestedDto');
          nested = { each: metadata.each, message: typeof metadata.message === 'string' ? metadata.message : 'nested property $property must be an object', plan: () => planOf(nestedClass()) };
          break;
        }
        case ValidationTypes.CUSTOM_VALIDATION:
        case ValidationTypes.IS_DEFINED:
          for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
            if (constraint.async) throw unsupported(metadata, 'an asynchronous constraint');
            (metadata.type === ValidationTypes.IS_DEFINED ? defined : checks).push({
              key: constraint.name || metadata.type,
              each: metadata.each,
              constraints: metadata.constraints as unknown[] | undefined,
              message: metadata.message,
              validateIf: metadata.validateIf,
              constraint: constraint.instance,
            });
          }
          break;
        default:
          throw unsupported(metadata, `validation type ${metadata.type}`);
      }
    }
    properties.push({ name, conditions, checks: [...defined, ...checks], nested });
  }
  const canonical = [...properties].sort((a, b) => (a.name < b.name ? -1 : 1));
  return { targetName: cls.name, properties, canonical, known: new Set(byProperty.keys()) };
}
