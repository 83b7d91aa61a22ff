// The typed arrays a decoded image's samples can come in, on either side of the contract.
export type PixelArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;
