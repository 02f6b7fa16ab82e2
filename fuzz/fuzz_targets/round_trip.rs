#![no_main]

use p2pchat_fuzz::structured::AnyR;

libfuzzer_sys::fuzz_target!(|m: AnyR| {
    p2pchat_fuzz::structured::check(&m);
});
