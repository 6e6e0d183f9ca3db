"""Reading WeCom session-archive exports (GetChatData records, group and roster files)."""
