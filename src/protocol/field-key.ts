// Protobuf field keys for the encoders that write fields by hand: (field number << 3) | wire type.
export const VARINT = 0;
export const LENGTH_DELIMITED = 2;

export const fieldKey = (field: number, wire: number): number => (field << 3) | wire;
