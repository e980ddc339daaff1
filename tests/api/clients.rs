//! The official SDKs, unchanged, through Warden: placeholder replaced below.
