//! ROOT's compressed blocks: a 9-byte header (two letters naming the algorithm, a method byte, the
//! compressed and the uncompressed size as 3-byte little-endian numbers) and the data. An object
//! larger than 16 MiB is several blocks. zlib (`ZL`), LZMA (`XZ`) and LZ4 (`L4`) are decoded;
//! ZSTD (`ZS`) and ROOT's old algorithm (`CS`) are refused with an error naming them.

use super::cursor::R;
use std::io::Read;

/// Bytes of a block header.
const HEADER: usize = 9;
/// Bytes of the checksum in front of an LZ4 block's data (ROOT stores an XXH64 of it there).
const LZ4_CHECKSUM: usize = 8;

/// The algorithm a block names.
pub fn algorithm(tag: &[u8]) -> &'static str {
    match tag {
        b"ZL" => "zlib",
        b"XZ" => "LZMA",
        b"L4" => "LZ4",
        b"ZS" => "ZSTD",
        b"CS" => "ROOT's old compression",
        _ => "unknown",
    }
}

/// Decompresses `src` (one object's blocks) into exactly `objlen` bytes.
pub fn decompress(mut src: &[u8], objlen: usize) -> R<Vec<u8>> {
    // reserved as the blocks deliver, not by the declared size alone (a damaged key's objlen)
    let mut out = Vec::with_capacity(objlen.min(src.len().saturating_mul(8)).min(1 << 26));
    let mut block = 0;
    while out.len() < objlen {
        if src.len() < HEADER {
            return Err(format!(
                "compressed block {block}: {} bytes left, a 9-byte block header expected ({} of {objlen} bytes decompressed)",
                src.len(),
                out.len()
            ));
        }
        let (h, rest) = src.split_at(HEADER);
        let csize = h[3] as usize | (h[4] as usize) << 8 | (h[5] as usize) << 16;
        let usize_ = h[6] as usize | (h[7] as usize) << 8 | (h[8] as usize) << 16;
        if csize > rest.len() {
            return Err(format!(
                "compressed block {block}: declares {csize} bytes, {} are left in the record",
                rest.len()
            ));
        }
        if usize_ > objlen - out.len() {
            return Err(format!(
                "compressed block {block}: declares {usize_} bytes uncompressed, only {} of the object's {objlen} remain",
                objlen - out.len()
            ));
        }
        let (data, next) = rest.split_at(csize);
        let before = out.len();
        // one byte more than declared is asked for, so the decoder reaches the stream's end and
        // checks its checksum (Adler-32, CRC), and an overlong block shows as a size mismatch
        let bad = |e: String| format!("compressed block {block} ({}): {e}", algorithm(&h[..2]));
        match &h[..2] {
            b"ZL" => {
                flate2::read::ZlibDecoder::new(data)
                    .take(usize_ as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| bad(e.to_string()))?;
            }
            b"XZ" => {
                xz2::read::XzDecoder::new(data)
                    .take(usize_ as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| bad(e.to_string()))?;
            }
            b"L4" => {
                if data.len() < LZ4_CHECKSUM {
                    return Err(bad("shorter than its checksum".into()));
                }
                let mut buf = vec![0u8; usize_];
                let n = lz4::block::decompress_to_buffer(
                    &data[LZ4_CHECKSUM..],
                    Some(usize_ as i32),
                    &mut buf,
                )
                .map_err(|e| bad(e.to_string()))?;
                out.extend_from_slice(&buf[..n]);
            }
            other => {
                return Err(format!(
                    "compressed block {block}: {} ({:?}) is not supported by this reader; rewrite the file with zlib, LZMA or LZ4 (e.g. `rootcp --compress 101`, or hadd -f1)",
                    algorithm(other),
                    String::from_utf8_lossy(other)
                ))
            }
        }
        if out.len() - before != usize_ {
            return Err(bad(format!(
                "gave {} bytes, its header declares {usize_}",
                out.len() - before
            )));
        }
        src = next;
        block += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn block(tag: &[u8; 2], data: &[u8], raw: usize) -> Vec<u8> {
        let mut b = vec![tag[0], tag[1], 0];
        b.extend_from_slice(&(data.len() as u32).to_le_bytes()[..3]);
        b.extend_from_slice(&(raw as u32).to_le_bytes()[..3]);
        b.extend_from_slice(data);
        b
    }

    fn zlib(raw: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(raw).unwrap();
        block(b"ZL", &e.finish().unwrap(), raw.len())
    }

    #[test]
    fn zlib_lzma_and_lz4_blocks_decode_and_chain() {
        let raw: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let mut src = zlib(&raw[..3000]);
        let mut xz = Vec::new();
        xz2::read::XzEncoder::new(&raw[3000..4000], 6)
            .read_to_end(&mut xz)
            .unwrap();
        src.extend(block(b"XZ", &xz, 1000));
        let lz = lz4::block::compress(&raw[4000..], None, false).unwrap();
        let mut l4 = vec![0u8; 8];
        l4.extend(lz);
        src.extend(block(b"L4", &l4, 1000));
        assert_eq!(decompress(&src, raw.len()).unwrap(), raw);
    }

    #[test]
    fn zstd_and_damaged_blocks_are_errors() {
        let e = decompress(&block(b"ZS", &[1, 2, 3], 10), 10).unwrap_err();
        assert!(e.contains("ZSTD") && e.contains("not supported"), "{e}");
        let raw = vec![7u8; 100];
        let good = zlib(&raw);
        assert!(decompress(&good[..20], 100)
            .unwrap_err()
            .contains("declares"));
        assert!(decompress(&good, 50).unwrap_err().contains("only 50"));
        assert!(decompress(&good, 200)
            .unwrap_err()
            .contains("block header expected"));
        let mut bad = good.clone();
        bad[12] ^= 0xff;
        assert!(decompress(&bad, 100).is_err());
    }
}
