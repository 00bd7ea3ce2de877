//! Emits `php81`, `php82`, … cfg flags for the PHP the extension is built against: the
//! zero-copy array walk depends on the engine's hash table layout, which changed in 8.2.

use ext_php_rs_build::{
    ApiVersion, PHPInfo, emit_check_cfg, emit_php_cfg_flags, emit_rerun_if_env_changed, find_php,
};

fn main() -> anyhow::Result<()> {
    emit_check_cfg();
    let info = PHPInfo::get(&find_php()?)?;
    let version: ApiVersion = info.zend_version()?.try_into()?;
    emit_php_cfg_flags(version);
    emit_rerun_if_env_changed();
    Ok(())
}
