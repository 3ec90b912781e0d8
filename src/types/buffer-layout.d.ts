// Minimal declarations for the parts of buffer-layout (1.x, untyped) that we use.
declare module 'buffer-layout' {
  export class Layout<T = any> {
    constructor(span: number, property?: string);
    span: number;
    property?: string;
    decode(b: Uint8Array, offset?: number): T;
    encode(src: T, b: Uint8Array, offset?: number): number;
    getSpan(b?: Uint8Array, offset?: number): number;
    replicate(name: string): this;
  }
  export class Structure<T = any> extends Layout<T> {
    fields: Layout<any>[];
    offsetOf(property: string): number | undefined;
  }
  export class Union<T = any> extends Layout<T> {}
  export function u8(property?: string): Layout<number>;
  export function u16(property?: string): Layout<number>;
  export function u32(property?: string): Layout<number>;
  export function s8(property?: string): Layout<number>;
  export function s16(property?: string): Layout<number>;
  export function s32(property?: string): Layout<number>;
  export function nu64(property?: string): Layout<number>;
  export function ns64(property?: string): Layout<number>;
  export function u16be(property?: string): Layout<number>;
  export function u32be(property?: string): Layout<number>;
  export function struct<T = any>(fields: Layout<any>[], property?: string, decodePrefixes?: boolean): Structure<T>;
  export function seq<T = any>(elementLayout: Layout<T>, count: number | Layout<number>, property?: string): Layout<T[]>;
  export function blob(length: number | Layout<number>, property?: string): Layout<Uint8Array>;
  export function cstr(property?: string): Layout<string>;
  export function greedy(elementSpan?: number, property?: string): Layout<number>;
  export function offset(layout: Layout<number>, offset?: number, property?: string): Layout<number>;
  export function union(discr: Layout<any>, defaultLayout?: Layout<any>, property?: string): Union;
  export function bits(word: Layout<number>, msb?: boolean, property?: string): Layout<any>;
  const _default: {
    u8: typeof u8; u16: typeof u16; u32: typeof u32; s8: typeof s8; s16: typeof s16; s32: typeof s32;
    nu64: typeof nu64; ns64: typeof ns64; struct: typeof struct; seq: typeof seq; blob: typeof blob;
    cstr: typeof cstr; greedy: typeof greedy; offset: typeof offset; union: typeof union; bits: typeof bits;
    Structure: typeof Structure; Layout: typeof Layout;
  };
  export default _default;
}
