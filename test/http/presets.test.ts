/** Session ids from Engine.IO and SockJS requests and from the Engine.IO handshake body. */

import t from 'tap';
import { engineIoSid, isEngineIoHandshake, sidFromHandshake, sockJsSession } from '../../src/http/presets.js';

t.test('Engine.IO', async (t) => {
  t.equal(engineIoSid('/socket.io/?EIO=4&transport=polling&t=abc&sid=Xy_9-AAAB'), 'Xy_9-AAAB');
  t.equal(engineIoSid('/socket.io/?EIO=4&transport=websocket&sid=zz'), 'zz');
  t.equal(engineIoSid('/socket.io/?transport=polling&sid=zz'), undefined, 'not Engine.IO without EIO');
  t.equal(engineIoSid('/socket.io/?EIO=4&transport=polling'), undefined);
  t.equal(engineIoSid(`/?EIO=4&sid=${'x'.repeat(129)}`), undefined, 'absurd ids are not pinned');
  t.ok(isEngineIoHandshake('GET', '/socket.io/?EIO=4&transport=polling&t=P1'));
  t.notOk(isEngineIoHandshake('POST', '/socket.io/?EIO=4&transport=polling'));
  t.notOk(isEngineIoHandshake('GET', '/socket.io/?EIO=4&transport=polling&sid=a'));
  t.notOk(isEngineIoHandshake('GET', '/socket.io/?EIO=4&transport=websocket'));
  t.equal(sidFromHandshake('0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000}'), 'lv_VI97HAXpY6yYWAAAC', 'EIO 4');
  t.equal(sidFromHandshake('96:0{"sid":"abc","upgrades":[]}2:40'), 'abc', 'EIO 3 text');
  t.equal(sidFromHandshake('\x00\x09\x06\xff0{"sid":"bin"}'), 'bin', 'EIO 3 binary framing');
  t.equal(sidFromHandshake('0{"upgrades":[]}'), undefined);
});

t.test('SockJS', async (t) => {
  t.equal(sockJsSession('/echo/123/abcdefgh/xhr_streaming'), '123/abcdefgh');
  t.equal(sockJsSession('/deep/prefix/echo/000/s1/xhr_send?t=1'), '000/s1');
  t.equal(sockJsSession('/echo/123/abc/websocket'), '123/abc');
  t.equal(sockJsSession('/echo/info'), undefined);
  t.equal(sockJsSession('/echo/iframe.html'), undefined);
  t.equal(sockJsSession('/echo/1.2/abc/xhr'), undefined, 'ids contain no dot');
  t.equal(sockJsSession('/echo/123/abc/unknown'), undefined);
  t.equal(sockJsSession('/xhr'), undefined);
});
