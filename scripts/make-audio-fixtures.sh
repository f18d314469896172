#!/bin/sh
# Regenerates the small audio fixtures under tests/fixtures/audio/.
# Needs (Debian/Ubuntu): sox libsox-fmt-all ffmpeg lame opus-tools flac vorbis-tools
# Every fixture is a 440 Hz tone: 0.5 s for uncompressed WAV, 1 s otherwise.
set -eu
out="$(dirname "$0")/../tests/fixtures/audio"
mkdir -p "$out"
cd "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
T="synth 1 sine 440 vol 0.5"
W="synth 0.5 sine 440 vol 0.5"

sox -n -r 16000 -b 16 -c 1 tone16k.wav $W
sox -n -r 8000 -e u-law -c 1 ulaw8k.wav $W
sox -n -r 8000 -e a-law -c 1 alaw8k.wav $W
sox -n -r 22050 -e ima-adpcm -c 1 ima22k.wav $W
sox -n -r 22050 -e ms-adpcm -c 1 msadpcm22k.wav $W
sox -n -r 16000 -e floating-point -b 32 -c 1 float16k.wav $W
# Stereo 22.05 kHz: tone on the left, silence on the right (mono = half-level tone).
sox -n -r 22050 -b 16 -c 2 left22k.wav synth 0.5 sine 440 sine 0 vol 0.5 remix 1 2v0
# Stereo: right is the left inverted, so the mono mix cancels to silence.
sox -n -r 22050 -b 16 -c 2 cancel22k.wav $W remix 1 1i
sox -n -r 44100 -b 16 -c 1 "$tmp/t44.wav" $T
sox -n -r 48000 -b 16 -c 1 "$tmp/t48.wav" $T
lame --quiet -b 64 "$tmp/t44.wav" tone44k.mp3
sox -n -r 8000 -b 16 -c 1 "$tmp/t8.wav" $T
lame --quiet -b 16 "$tmp/t8.wav" tone8k.mp3
ffmpeg -loglevel error -y -i "$tmp/t48.wav" -c:a aac -b:a 32k tone48k.m4a
ffmpeg -loglevel error -y -i "$tmp/t44.wav" -c:a aac -b:a 32k -f adts tone44k.aac
flac --silent -f -o tone44k.flac "$tmp/t44.wav"
oggenc --quiet -q 0 -o tone44k.ogg "$tmp/t44.wav"
opusenc --quiet --bitrate 16 "$tmp/t48.wav" tone48k.opus
ffmpeg -loglevel error -y -i "$tmp/t48.wav" -c:a libopus -b:a 16k tone48k.webm

# Bad inputs.
: > empty.wav
head -c 4000 /dev/urandom > random.wav
printf 'Patient seen today for follow-up.\nPlan: continue.\n' > notes.wav
head -c 2000 tone16k.wav > truncated.wav
printf '#!AMR\n\074\000\000\000' > voice.amr
printf '\002dss\001\000\000\000' > memo.dss
printf '\003ds2\001\000\000\000' > memo.ds2
printf '\060\046\262\165\216\146\317\021\246\331\000\252\000\142\316\154\000\000' > memo.wma
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=32x32:rate=5 -t 1 -c:v mpeg4 -an video.mp4
ls -l
