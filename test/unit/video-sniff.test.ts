import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sniffImageFormat } from '../../src/core/image/sniff.js';
import { sniffVideoFormat, supportedVideoFormatList } from '../../src/core/video/index.js';

function bytes(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'string') for (const ch of part) out.push(ch.charCodeAt(0));
    else out.push(...part);
  }
  return Uint8Array.from(out);
}

/** An `ftyp` box: size, type, major brand, minor version, compatible brands. */
function ftyp(major: string, ...compatible: string[]): Uint8Array {
  return bytes([0, 0, 0, 16 + 4 * compatible.length], 'ftyp', major, [0, 0, 2, 0], ...compatible);
}

function ebml(docType: string): Uint8Array {
  return bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x80 | docType.length], docType, [0x42, 0x87, 0x81, 0x04]);
}

function transportStream(packetSize: 188 | 192, packets: number): Uint8Array {
  const out = new Uint8Array(packetSize * packets);
  for (let p = 0; p < packets; p++) out[p * packetSize + (packetSize === 192 ? 4 : 0)] = 0x47;
  return out;
}

describe('sniffVideoFormat', () => {
  test('recognises each supported container by its signature', () => {
    assert.equal(sniffVideoFormat(ftyp('isom', 'isom', 'iso2', 'avc1', 'mp41')), 'mp4');
    assert.equal(sniffVideoFormat(ftyp('mp42', 'mp42', 'isom')), 'mp4');
    assert.equal(sniffVideoFormat(ftyp('M4V ', 'M4V ', 'mp42')), 'mp4');
    assert.equal(sniffVideoFormat(ftyp('3gp5', '3gp5')), 'mp4');
    assert.equal(sniffVideoFormat(ftyp('qt  ', 'qt  ')), 'mov');
    assert.equal(sniffVideoFormat(bytes([0, 0, 0, 8], 'wide', [0, 0, 0, 0], 'mdat')), 'mov');
    assert.equal(sniffVideoFormat(ebml('webm')), 'webm');
    assert.equal(sniffVideoFormat(ebml('matroska')), 'mkv');
    assert.equal(sniffVideoFormat(bytes('RIFF', [0x24, 0x10, 0, 0], 'AVI LIST')), 'avi');
    assert.equal(sniffVideoFormat(transportStream(188, 3)), 'mpegts');
    assert.equal(sniffVideoFormat(transportStream(192, 3)), 'mpegts');
  });

  test('leaves images and other bytes alone, and the two sniffers never both claim a file', () => {
    const others = [
      ftyp('avif', 'avif', 'mif1', 'miaf'),
      ftyp('heic', 'heic', 'mif1'),
      ftyp('mif1', 'mif1', 'heic'),
      bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 '),
      bytes([0xff, 0xd8, 0xff, 0xe0]),
      bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a]),
      bytes('<!doctype html><html>'),
      bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt '),
      transportStream(188, 2), // two packets are not enough evidence
      new Uint8Array(0),
    ];
    for (const head of others) assert.equal(sniffVideoFormat(head), undefined, Buffer.from(head.subarray(0, 12)).toString('latin1'));
    for (const head of [ftyp('isom', 'mp41'), ftyp('qt  '), ebml('webm')]) assert.equal(sniffImageFormat(head), undefined);
  });

  test('lists the containers for messages', () => {
    assert.equal(supportedVideoFormatList(), 'MP4, QuickTime (MOV), WebM, Matroska (MKV), AVI or MPEG-TS');
  });
});
