//+------------------------------------------------------------------+
//| SignalDeskReports.mqh: account, positions and symbol specs JSON  |
//| POST /ea/v1/account and POST /ea/v1/symbols bodies (see README). |
//+------------------------------------------------------------------+
#include "SignalDeskJson.mqh"

string SdPositionJson(const ulong ticket)
  {
   string symbol=PositionGetString(POSITION_SYMBOL);
   int digits=(int)SymbolInfoInteger(symbol,SYMBOL_DIGITS);
   bool buy=PositionGetInteger(POSITION_TYPE)==POSITION_TYPE_BUY;
   return "{"+SdPairInt("ticket",(long)ticket)+","+SdPairStr("symbol",symbol)+","
          +SdPairStr("side",buy ? "buy" : "sell")+","
          +SdPairNum("volume",PositionGetDouble(POSITION_VOLUME),2)+","
          +SdPairNum("open_price",PositionGetDouble(POSITION_PRICE_OPEN),digits)+","
          +SdPairLevel("sl",PositionGetDouble(POSITION_SL),digits)+","
          +SdPairLevel("tp",PositionGetDouble(POSITION_TP),digits)+","
          +SdPairNum("profit",PositionGetDouble(POSITION_PROFIT),2)+","
          +SdPairStr("comment",PositionGetString(POSITION_COMMENT))+"}";
  }

string SdAccountJson()
  {
   string positions="";
   for(int i=0;i<PositionsTotal();i++)
     {
      ulong ticket=PositionGetTicket(i);
      if(ticket==0)
         continue;
      positions+=(positions=="" ? "" : ",")+SdPositionJson(ticket);
     }
   return "{"+SdPairNum("balance",AccountInfoDouble(ACCOUNT_BALANCE),2)+","
          +SdPairNum("equity",AccountInfoDouble(ACCOUNT_EQUITY),2)+","
          +SdPairNum("margin",AccountInfoDouble(ACCOUNT_MARGIN),2)+","
          +SdPairStr("currency",AccountInfoString(ACCOUNT_CURRENCY))+","
          +"\"positions\":["+positions+"]}";
  }

string SdSymbolJson(const string name)
  {
   return "{"+SdPairStr("name",name)+","
          +SdPairInt("digits",SymbolInfoInteger(name,SYMBOL_DIGITS))+","
          +SdPairNum("point",SymbolInfoDouble(name,SYMBOL_POINT),10)+","
          +SdPairNum("tick_size",SymbolInfoDouble(name,SYMBOL_TRADE_TICK_SIZE),10)+","
          +SdPairNum("tick_value",SymbolInfoDouble(name,SYMBOL_TRADE_TICK_VALUE),10)+","
          +SdPairNum("contract_size",SymbolInfoDouble(name,SYMBOL_TRADE_CONTRACT_SIZE),2)+","
          +SdPairNum("volume_min",SymbolInfoDouble(name,SYMBOL_VOLUME_MIN),4)+","
          +SdPairNum("volume_max",SymbolInfoDouble(name,SYMBOL_VOLUME_MAX),4)+","
          +SdPairNum("volume_step",SymbolInfoDouble(name,SYMBOL_VOLUME_STEP),4)+","
          +SdPairInt("stops_level",SymbolInfoInteger(name,SYMBOL_TRADE_STOPS_LEVEL))+"}";
  }

//--- the listed symbols (comma separated), or every symbol in Market Watch when empty
string SdSymbolsJson(const string wanted)
  {
   string names[];
   if(StringLen(wanted)>0)
      StringSplit(wanted,',',names);
   else
     {
      ArrayResize(names,SymbolsTotal(true));
      for(int i=0;i<ArraySize(names);i++)
         names[i]=SymbolName(i,true);
     }
   string items="";
   for(int i=0;i<ArraySize(names);i++)
     {
      string name=names[i];
      StringTrimLeft(name);
      StringTrimRight(name);
      if(name=="" || !SymbolSelect(name,true))
         continue;
      items+=(items=="" ? "" : ",")+SdSymbolJson(name);
     }
   return "{\"symbols\":["+items+"]}";
  }
//+------------------------------------------------------------------+
